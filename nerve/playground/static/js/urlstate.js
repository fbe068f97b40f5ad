// The page's state in the URL fragment, so a link reproduces a setup.
// #view=learn&dataset=xor&layers=4,2&lr=0.03&...&fw_layers=5-7-6-2&fw_seed=0&temperature=0.65

const LISTS = new Set(["features", "layers"]);
const NUMBERS = new Set([
  "noise", "train_ratio", "n_points", "classes", "lr", "batch_size", "reg_rate", "dropout", "seed",
]);

export function readState() {
  const params = new URLSearchParams(window.location.hash.slice(1));
  const learn = {};
  const forward = {};
  let view = "forward";
  for (const [key, value] of params) {
    if (key === "view") view = value === "learn" ? "learn" : "forward";
    else if (key === "fw_layers") forward.layers = value.split("-").map(toNumber);
    else if (key === "fw_seed") forward.seed = toNumber(value);
    else if (key === "temperature") forward.temperature = toNumber(value);
    else if (LISTS.has(key)) learn[key] = value === "" ? [] : value.split(",").map(
      (v) => (key === "layers" ? toNumber(v) : v));
    else if (NUMBERS.has(key)) learn[key] = toNumber(value);
    else learn[key] = value;  // the server rejects unknown keys and names them
  }
  return { view, learn, forward };
}

export function writeState({ view, learn, forward }) {
  const params = new URLSearchParams();
  params.set("view", view);
  for (const [key, value] of Object.entries(learn || {})) {
    params.set(key, Array.isArray(value) ? value.join(",") : String(value));
  }
  if (forward) {
    params.set("fw_layers", forward.layers.join("-"));
    params.set("fw_seed", String(forward.seed));
    params.set("temperature", String(forward.temperature));
  }
  history.replaceState(null, "", `#${params.toString()}`);
}

function toNumber(text) {
  const value = Number(text);
  return text.trim() === "" || Number.isNaN(value) ? text : value;
}
