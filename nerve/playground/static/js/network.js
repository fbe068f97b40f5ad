// Drawing a fully connected network in SVG: layout, edge colours (cyan +, magenta -), pulses.

export const SVGNS = "http://www.w3.org/2000/svg";
export const CYAN = "#00e5ff";
export const MAGENTA = "#ff2bd6";

export function svgElement(tag, attributes = {}, parent = null) {
  const el = document.createElementNS(SVGNS, tag);
  for (const [key, value] of Object.entries(attributes)) el.setAttribute(key, value);
  if (parent) parent.appendChild(el);
  return el;
}

// Node centres for layer sizes [n0, n1, ...] in a width x height box: columns evenly spaced.
export function layout(sizes, width, height, { marginX = 70, marginY = 50, maxGap = 70 } = {}) {
  const columns = sizes.length;
  const dx = columns > 1 ? (width - 2 * marginX) / (columns - 1) : 0;
  return sizes.map((n, l) => {
    const gap = Math.min(maxGap, (height - 2 * marginY) / Math.max(n, 1));
    const top = height / 2 - (gap * (n - 1)) / 2;
    return Array.from({ length: n }, (_, i) => ({ x: marginX + l * dx, y: top + i * gap }));
  });
}

export const edgeColor = (w) => (w >= 0 ? CYAN : MAGENTA);

export function maxAbs(matrices) {
  let peak = 0;
  for (const m of matrices) for (const row of m) for (const v of row) peak = Math.max(peak, Math.abs(v));
  return peak || 1;
}

// Style every edge <line> of layer l (weights[l] is out x in) by its weight.
// NOTE: only edges whose (rounded) look changed touch the DOM; repainting thousands of SVG
// lines per frame is what would make a big network's page sluggish.
export function styleEdges(edges, weights) {
  const peak = maxAbs(weights);
  for (const edge of edges) {
    const w = weights[edge.l][edge.j][edge.i];
    const strength = Math.abs(w) / peak;
    const width = (0.4 + 4.6 * strength).toFixed(1);
    const look = `${edgeColor(w)} ${width} ${(0.25 + 0.6 * strength).toFixed(2)}`;
    if (look === edge.look) continue;
    edge.look = look;
    const [stroke, , opacity] = look.split(" ");
    edge.el.setAttribute("stroke", stroke);
    edge.el.setAttribute("stroke-width", width);
    edge.el.setAttribute("stroke-opacity", opacity);
  }
}

// Edges from layer l (i) to l+1 (j) as <line>s; returns [{l, i, j, el, from, to}].
export function drawEdges(group, positions) {
  const edges = [];
  for (let l = 0; l + 1 < positions.length; l++) {
    for (let j = 0; j < positions[l + 1].length; j++) {
      for (let i = 0; i < positions[l].length; i++) {
        const from = positions[l][i];
        const to = positions[l + 1][j];
        const el = svgElement("line", {
          class: "edge", x1: from.x, y1: from.y, x2: to.x, y2: to.y,
          "data-l": l, "data-i": i, "data-j": j,
        }, group);
        edges.push({ l, i, j, el, from, to });
      }
    }
  }
  return edges;
}

// Move the pulse circles of one layer to fraction t of the way (backward: from the far end).
export function placePulses(pulses, t, { backward = false, stagger = 0 } = {}) {
  const count = pulses.length;
  pulses.forEach((pulse, k) => {
    // NOTE: with stagger > 0 the edges of a layer start one after another ("edge by edge").
    const start = count > 1 ? (stagger * k) / (count - 1) : 0;
    const local = Math.min(1, Math.max(0, (t - start) / (1 - stagger)));
    const a = backward ? pulse.to : pulse.from;
    const b = backward ? pulse.from : pulse.to;
    pulse.el.setAttribute("cx", a.x + (b.x - a.x) * local);
    pulse.el.setAttribute("cy", a.y + (b.y - a.y) * local);
    pulse.el.setAttribute("visibility", t > start && local < 1 ? "visible" : "hidden");
  });
}

export const easeInOut = (t) => (t < 0.5 ? 2 * t * t : 1 - (-2 * t + 2) ** 2 / 2);
