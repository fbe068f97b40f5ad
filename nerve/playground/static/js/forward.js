// View 1: the forward pass. The server (nerve) builds the network and computes every sample;
// this file only draws: pulses travel layer by layer, then the output shows softmax(z / T).

import { attachTooltip, fmt } from "./tooltip.js";
import {
  drawEdges, easeInOut, layout, placePulses, styleEdges, svgElement,
} from "./network.js";

const PHASE_MS = 520; // one layer's pulse
const HOLD_MS = 800; // outputs shown before the next sample
const WIDTH = 900;
const HEIGHT = 520;

export class ForwardView {
  constructor(socket, onStateChange) {
    this.socket = socket;
    this.onStateChange = onStateChange;
    this.svg = document.getElementById("fw-svg");
    this.network = null;
    this.sample = null;
    this.expectNew = []; // for each forward.sample sent, whether it asked for a new input
    this.cycleStart = 0;
    this.awaiting = false;
    this.visible = true;
    this.cycles = 0;
    this.temperature = 0.65;

    socket.on("forward.network", (m) => this.setNetwork(m));
    socket.on("forward.sample", (m) => this.setSample(m));
    socket.on("error", (m) => {
      if (m.request && m.request.startsWith("forward")) this.awaiting = false;
      if (m.request === "forward.init" && !this.network) this.start();  // a bad link: defaults
    });

    const temp = document.getElementById("fw-temp");
    temp.addEventListener("input", () => {
      this.temperature = Number(temp.value);
      document.getElementById("fw-temp-value").textContent = this.temperature.toFixed(2);
      if (this.sample) this.requestSample(false);
      this.onStateChange();
    });
    document.getElementById("fw-randomize").addEventListener("click", () => {
      socket.send({ type: "forward.randomize" });
    });
    const apply = () => {
      const text = document.getElementById("fw-layers").value;
      const layers = text.split(/[-,\s]+/).filter((s) => s !== "").map(
        (s) => (/^\d+$/.test(s) ? Number(s) : s));
      socket.send({ type: "forward.init", layers, seed: this.network ? this.network.seed : 0 });
    };
    document.getElementById("fw-apply").addEventListener("click", apply);
    document.getElementById("fw-layers").addEventListener("keydown", (e) => {
      if (e.key === "Enter") apply();
    });
    attachTooltip(this.svg, (e) => this.describe(e.target));
    requestAnimationFrame((t) => this.tick(t));
  }

  start({ layers = [5, 7, 6, 2], seed = 0, temperature = 0.65 } = {}) {
    this.temperature = temperature;
    document.getElementById("fw-temp").value = String(temperature);
    document.getElementById("fw-temp-value").textContent = Number(temperature).toFixed(2);
    this.socket.send({ type: "forward.init", layers, seed });
  }

  state() {
    if (!this.network) return null;
    return { layers: this.network.layers, seed: this.network.seed, temperature: this.temperature };
  }

  requestSample(isNew) {
    this.expectNew.push(isNew);
    if (isNew) this.awaiting = true;
    this.socket.send({ type: "forward.sample", temperature: this.temperature, new: isNew });
  }

  setNetwork(message) {
    this.network = message;
    this.sample = null;
    this.expectNew = [];
    document.getElementById("fw-layers").value = message.layers.join("-");
    const n = message.weights.reduce((s, w) => s + w.length * w[0].length, 0);
    document.getElementById("fw-info").textContent =
      `seed ${message.seed} · ${n} weights · nn.Linear init by nerve`;
    this.build();
    this.requestSample(true);
    this.onStateChange();
  }

  build() {
    const sizes = this.network.layers;
    this.svg.replaceChildren();
    this.positions = layout(sizes, WIDTH, HEIGHT, { marginX: 90, maxGap: 64 });
    const defs = svgElement("defs", {}, this.svg);
    const glow = svgElement("filter", { id: "glow", x: "-2", y: "-2", width: "5", height: "5" }, defs);
    svgElement("feGaussianBlur", { stdDeviation: "2.2", result: "blur" }, glow);
    const merge = svgElement("feMerge", {}, glow);
    svgElement("feMergeNode", { in: "blur" }, merge);
    svgElement("feMergeNode", { in: "SourceGraphic" }, merge);
    const edgeGroup = svgElement("g", {}, this.svg);
    const pulseGroup = svgElement("g", { filter: "url(#glow)" }, this.svg);
    const nodeGroup = svgElement("g", {}, this.svg);
    this.edges = drawEdges(edgeGroup, this.positions);
    styleEdges(this.edges, this.network.weights);
    this.pulses = this.edges.map((edge) => ({
      ...edge,
      el: svgElement("circle", { class: "pulse", r: 3, visibility: "hidden" }, pulseGroup),
    }));
    const largest = Math.max(...sizes);
    const radius = Math.max(6, Math.min(18, (HEIGHT - 100) / (largest * 2.6)));
    for (const column of this.positions) {
      for (const p of column) {
        svgElement("circle", { cx: p.x, cy: p.y, r: radius, fill: "#0b0f14" }, nodeGroup);
      }
    }
    this.nodes = this.positions.map((column, l) => column.map((p, i) => svgElement("circle", {
      class: "node", cx: p.x, cy: p.y, r: radius, fill: "rgba(255,255,255,0.06)",
      "data-node": `${l},${i}`,
    }, nodeGroup)));
    const last = sizes.length - 1;
    sizes.forEach((n, l) => {
      const title = l === 0 ? "input" : l === last ? "output" : `hidden ${l}`;
      svgElement("text", { x: this.positions[l][0].x, y: HEIGHT - 12, "text-anchor": "middle" },
        this.svg).textContent = `${title} (${n})`;
    });
    this.outLabels = this.positions[last].map((p) => {
      const t = svgElement("text", { x: p.x + radius + 8, y: p.y + 4 }, this.svg);
      t.classList.add("out-label");
      return t;
    });
    this.buildProbs(sizes[last]);
  }

  buildProbs(count) {
    const box = document.getElementById("fw-probs");
    box.replaceChildren();
    this.probRows = [];
    for (let k = 0; k < count; k++) {
      const row = document.createElement("div");
      row.className = "row";
      row.innerHTML = `<span>class ${k}</span><div class="bar"><div class="fill"></div></div>` +
        `<span class="pct" id="fw-prob-${k}">–</span>`;
      box.appendChild(row);
      this.probRows.push({ fill: row.querySelector(".fill"), pct: row.querySelector(".pct") });
    }
  }

  setSample(message) {
    const isNew = this.expectNew.length ? this.expectNew.shift() : true;
    if (isNew) {
      this.sample = message;
      this.awaiting = false;
      this.cycleStart = performance.now();
      this.cycles += 1;
      this.shownProbs = false;
    } else if (this.sample) {
      this.sample.probs = message.probs;
      this.sample.temperature = message.temperature;
      if (this.shownProbs) this.showProbs();
    }
  }

  showProbs() {
    this.shownProbs = true;
    this.sample.probs.forEach((p, k) => {
      const row = this.probRows[k];
      if (!row) return;
      row.fill.style.width = `${(100 * p).toFixed(1)}%`;
      row.pct.textContent = `${(100 * p).toFixed(1)}%`;
      this.outLabels[k].textContent = `${(100 * p).toFixed(1)}%`;
    });
  }

  tick(now) {
    requestAnimationFrame((t) => this.tick(t));
    const paused = document.getElementById("fw-pause").checked;
    if (!this.visible || !this.sample || !this.network) {
      this.cycleStart += paused ? 0 : 0;
      return;
    }
    if (paused) {
      this.cycleStart += now - (this.lastNow || now);
      this.lastNow = now;
      return;
    }
    const speed = Number(document.getElementById("fw-speed").value);
    const elapsed = (now - this.cycleStart) * speed;
    this.lastNow = now;
    const layers = this.network.layers.length - 1;
    const phase = Math.floor(elapsed / PHASE_MS);
    const frac = easeInOut((elapsed % PHASE_MS) / PHASE_MS);
    this.phase = phase;
    this.frac = frac;
    this.lightNodes(Math.min(phase, layers), frac);
    for (const pulse of this.pulses) pulse.el.setAttribute("visibility", "hidden");
    if (phase < layers) {
      const current = this.pulses.filter((p) => p.l === phase);
      const source = phase === 0 ? this.sample.input : this.sample.a[phase - 1];
      for (const p of current) {
        const w = this.network.weights[p.l][p.j][p.i];
        const signal = Math.min(1, Math.abs(w * source[p.i]) * 2);
        p.el.setAttribute("r", (1.5 + 3.5 * signal).toFixed(2));
        p.el.setAttribute("fill-opacity", (0.35 + 0.65 * signal).toFixed(2));
      }
      placePulses(current, frac);
    } else if (!this.shownProbs) {
      this.showProbs();
    }
    if (elapsed > layers * PHASE_MS + HOLD_MS && !this.awaiting) this.requestSample(true);
  }

  // Layers up to `upto` are lit (the one being reached fades in with `frac`).
  lightNodes(upto, frac) {
    const last = this.network.layers.length - 1;
    this.nodes.forEach((column, l) => {
      const values = this.activations(l);
      column.forEach((node, i) => {
        let level = 0.06;
        // NOTE: sqrt so that small activations still glow visibly.
        const bright = Math.sqrt(Math.min(1, Math.abs(values[i])));
        if (l < upto || (l === upto && l === 0)) level = bright;
        else if (l === upto) level = 0.06 + frac * bright;
        if (l === last && l <= upto && this.shownProbs) level = this.sample.probs[i];
        node.setAttribute("fill", `rgba(255,255,255,${Math.max(0.06, level).toFixed(3)})`);
      });
    });
  }

  activations(l) {
    const last = this.network.layers.length - 1;
    if (l === 0) return this.sample.input;
    if (l === last) return this.sample.probs;
    return this.sample.a[l - 1];
  }

  describe(target) {
    if (!this.sample || !target.dataset) return "";
    const last = this.network.layers.length - 1;
    if (target.dataset.node) {
      const [l, i] = target.dataset.node.split(",").map(Number);
      if (l === 0) return `input x${i + 1} = ${fmt(this.sample.input[i])}`;
      const z = this.sample.z[l - 1][i];
      const b = this.network.biases[l - 1][i];
      if (l === last) {
        return `output ${i}\nlogit z = ${fmt(z)}  (bias ${fmt(b)})\n` +
          `p = softmax(z / ${fmt(this.sample.temperature, 2)}) = ` +
          `${(100 * this.sample.probs[i]).toFixed(2)}%`;
      }
      return `hidden ${l}, neuron ${i}\nz = W·a + b = ${fmt(z)}  (bias ${fmt(b)})\n` +
        `a = tanh(z) = ${fmt(this.sample.a[l - 1][i])}`;
    }
    if (target.dataset.l !== undefined && target.classList.contains("edge")) {
      const l = Number(target.dataset.l);
      const i = Number(target.dataset.i);
      const j = Number(target.dataset.j);
      const w = this.network.weights[l][j][i];
      const source = l === 0 ? this.sample.input[i] : this.sample.a[l - 1][i];
      const from = l === 0 ? `input ${i}` : `hidden ${l} neuron ${i}`;
      const to = l + 1 === last ? `output ${j}` : `hidden ${l + 1} neuron ${j}`;
      return `w = ${fmt(w)}  (${from} → ${to})\na = ${fmt(source)}   w·a = ${fmt(w * source)}`;
    }
    return "";
  }
}
