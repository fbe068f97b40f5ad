// View 2: learning. The page edits a config and sends it; the server (nerve) trains and sends
// frames: weights, per-neuron heatmaps, the decision boundary, losses. Nothing is computed here.

import { attachTooltip, fmt } from "./tooltip.js";
import {
  drawEdges, layout, placePulses, styleEdges, svgElement, CYAN, MAGENTA,
} from "./network.js";
import {
  CLASS_COLORS, decodeBytes, drawBoundary, drawHeatmap, drawLossChart,
} from "./plots.js";

const $ = (id) => document.getElementById(id);
const HYPER = ["lr", "batch_size", "regularization", "reg_rate", "dropout", "optimizer", "loss"];
const FORWARD_MS = 260; // per layer, forward pulse
const BACKWARD_MS = 420; // per layer, gradient pulse

export class LearnView {
  constructor(socket, onStateChange) {
    this.socket = socket;
    this.onStateChange = onStateChange;
    this.config = null; // what the page asks for
    this.confirmed = null; // what the server last accepted
    this.data = null;
    this.frame = null;
    this.frames = 0;
    this.limits = { hidden_layers: 8, neurons: 16, csv_bytes: 256000 };
    this.features = [];
    this.animation = null;
    this.visible = false;

    socket.on("hello", (m) => {
      this.limits = m.limits;
      this.features = m.features;
      this.defaults = m.learn_defaults;
      this.buildFeatureBoxes();
    });
    socket.on("learn.data", (m) => this.setData(m));
    socket.on("learn.frame", (m) => this.setFrame(m));
    socket.on("learn.uploaded", (m) => this.uploaded(m));
    socket.on("learn.export", (m) => this.exported(m));
    socket.on("error", (m) => {
      if (m.request === "learn.config" && !this.confirmed && this.defaults) {
        // the link's setup was refused (the banner says why): start from the defaults
        this.config = { ...this.defaults };
        this.sendConfig();
      } else if ((m.request === "learn.config" || m.request === "learn.hyper") && this.confirmed) {
        this.config = { ...this.confirmed };
        this.syncControls();
      }
    });
    this.bindControls();
    attachTooltip($("ln-svg"), (e) => this.describeEdge(e.target));
    attachTooltip($("ln-nodes"), (e) => this.describeNode(e.target));
    requestAnimationFrame((t) => this.tick(t));
  }

  start(initial) {
    this.config = { ...(this.defaults || {}), ...initial };
    this.sendConfig();
  }

  // ----- controls ------------------------------------------------------------------------------

  bindControls() {
    const onConfig = (id, key, parse = (v) => v) => $(id).addEventListener("change", () => {
      this.config[key] = parse($(id).value);
      this.sendConfig();
    });
    const onHyper = (id, key, parse = (v) => v) => $(id).addEventListener("change", () => {
      this.config[key] = parse($(id).value);
      this.sendHyper();
    });
    onConfig("ln-activation", "activation");
    onConfig("ln-classes", "classes", Number);
    onConfig("ln-ratio", "train_ratio", Number);
    onConfig("ln-noise", "noise", Number);
    onConfig("ln-npoints", "n_points", Number);
    onConfig("ln-seed", "seed", Number);
    onHyper("ln-lr", "lr", Number);
    onHyper("ln-optimizer", "optimizer");
    onHyper("ln-loss", "loss");
    onHyper("ln-batch", "batch_size", Number);
    onHyper("ln-reg", "regularization");
    onHyper("ln-reg-rate", "reg_rate", Number);
    onHyper("ln-dropout", "dropout", Number);
    $("ln-ratio").addEventListener("input", () => {
      $("ln-ratio-value").textContent = `${$("ln-ratio").value}%`;
    });
    $("ln-noise").addEventListener("input", () => {
      $("ln-noise-value").textContent = $("ln-noise").value;
    });
    for (const button of document.querySelectorAll("#ln-datasets button")) {
      button.addEventListener("click", () => {
        this.config.dataset = button.dataset.dataset;
        this.sendConfig();
      });
    }
    $("ln-regenerate").addEventListener("click", () => {
      this.config.seed = Math.floor(Math.random() * 2 ** 31);
      this.sendConfig();
    });
    $("ln-play").addEventListener("click", () => {
      this.socket.send({ type: this.frame && this.frame.running ? "learn.pause" : "learn.play" });
    });
    $("ln-step").addEventListener("click", () => this.socket.send({ type: "learn.step" }));
    $("ln-reset").addEventListener("click", () => this.socket.send({ type: "learn.reset" }));
    $("ln-layer-add").addEventListener("click", () => {
      this.config.layers = [...this.config.layers, 2];
      this.sendConfig();
    });
    $("ln-layer-remove").addEventListener("click", () => {
      this.config.layers = this.config.layers.slice(0, -1);
      this.sendConfig();
    });
    $("ln-backprop").addEventListener("change", () => {
      this.socket.send({ type: "learn.backprop", enabled: $("ln-backprop").checked });
    });
    $("ln-show-test").addEventListener("change", () => this.drawOutput());
    $("ln-export").addEventListener("click", () => this.socket.send({ type: "learn.export" }));
    $("ln-csv").addEventListener("change", () => this.upload());
  }

  buildFeatureBoxes() {
    const box = $("ln-features");
    box.replaceChildren();
    for (const name of this.features) {
      const label = document.createElement("label");
      const input = document.createElement("input");
      input.type = "checkbox";
      input.value = name;
      input.addEventListener("change", () => {
        const chosen = [...box.querySelectorAll("input:checked")].map((el) => el.value);
        this.config.features = this.features.filter((f) => chosen.includes(f));
        this.sendConfig();
      });
      label.append(input, ` ${name}`);
      box.appendChild(label);
    }
  }

  sendConfig() {
    const message = { type: "learn.config" };
    for (const [key, value] of Object.entries(this.config)) message[key] = value;
    this.socket.send(message);
  }

  sendHyper() {
    const message = { type: "learn.hyper" };
    for (const key of HYPER) message[key] = this.config[key];
    this.socket.send(message);
  }

  syncControls() {
    const c = this.config;
    const setValue = (id, value) => {
      const el = $(id);
      if (el.tagName === "SELECT" && ![...el.options].some((o) => o.value === String(value))) {
        const option = document.createElement("option");
        option.textContent = String(value);
        el.appendChild(option);
      }
      el.value = String(value);
    };
    setValue("ln-activation", c.activation);
    setValue("ln-classes", c.classes);
    $("ln-classes").disabled = !["gaussian", "spiral"].includes(c.dataset);
    setValue("ln-ratio", c.train_ratio);
    $("ln-ratio-value").textContent = `${c.train_ratio}%`;
    setValue("ln-noise", c.noise);
    $("ln-noise-value").textContent = String(c.noise);
    setValue("ln-npoints", c.n_points);
    setValue("ln-seed", c.seed);
    setValue("ln-lr", c.lr);
    setValue("ln-optimizer", c.optimizer);
    setValue("ln-loss", c.loss);
    setValue("ln-batch", c.batch_size);
    setValue("ln-reg", c.regularization);
    setValue("ln-reg-rate", c.reg_rate);
    setValue("ln-dropout", c.dropout);
    for (const button of document.querySelectorAll("#ln-datasets button")) {
      button.classList.toggle("active", button.dataset.dataset === c.dataset);
    }
    for (const input of $("ln-features").querySelectorAll("input")) {
      input.checked = c.features.includes(input.value);
    }
    const n = c.layers.length;
    $("ln-layer-count").textContent = `${n} hidden layer${n === 1 ? "" : "s"}`;
    $("ln-layer-add").disabled = n >= this.limits.hidden_layers;
    $("ln-layer-remove").disabled = n === 0;
  }

  // ----- messages from the server ---------------------------------------------------------------

  setData(message) {
    this.data = message;
    this.config = { ...message.config };
    this.confirmed = { ...message.config };
    this.syncControls();
    $("ln-loss").disabled = message.problem === "regression";
    this.buildNetwork();
    this.onStateChange();
  }

  setFrame(frame) {
    this.frame = frame;
    this.frames += 1;
    // NOTE: acknowledged after drawing (below, via a timeout), so the server never sends
    // faster than this page can draw.
    setTimeout(() => this.socket.send({ type: "learn.ack" }), 0);
    if (JSON.stringify(frame.config) !== JSON.stringify(this.confirmed)) {
      // a hyperparameter change the server accepted: keep controls and URL in step
      this.confirmed = { ...frame.config };
      this.config = { ...frame.config };
      this.syncControls();
      this.onStateChange();
    }
    const epoch = String(frame.epoch).padStart(6, "0");
    $("ln-epoch").textContent = `${epoch.slice(0, -3)},${epoch.slice(-3)}`;
    $("ln-play").textContent = frame.running ? "❚❚" : "▶";
    $("ln-play").classList.toggle("running", frame.running);
    const m = frame.metrics;
    const show = (v) => (v === null || v === undefined ? "NaN" : v.toFixed(3));
    $("ln-test-loss").textContent = show(m.test_loss);
    $("ln-train-loss").textContent = show(m.train_loss);
    const pct = (v) => (v === undefined ? "–" : v === null ? "NaN" : `${(100 * v).toFixed(1)}%`);
    $("ln-test-acc").textContent = pct(m.test_accuracy);
    $("ln-train-acc").textContent = pct(m.train_accuracy);
    $("ln-diverged").hidden = !frame.diverged;
    $("ln-ups").textContent = frame.running && frame.updates_per_second
      ? `${Math.round(frame.updates_per_second)} updates/s` : `${frame.updates} updates`;
    drawLossChart($("ln-loss-chart"), frame.history);
    this.drawOutput();
    this.updateNetwork();
    if (frame.gradients && $("ln-backprop").checked && !this.animation) {
      this.animation = { start: performance.now(), gradients: frame.gradients };
    }
  }

  drawOutput() {
    drawBoundary($("ln-boundary"), this.frame, this.data, $("ln-show-test").checked);
  }

  // ----- the network diagram --------------------------------------------------------------------

  buildNetwork() {
    const box = $("ln-net");
    const width = box.clientWidth || 600;
    const height = box.clientHeight || 600;
    const sizes = this.data.sizes;
    this.positions = layout(sizes, width, height, { marginX: 40, marginY: 46, maxGap: 56 });
    const largest = Math.max(...sizes);
    this.nodeSize = Math.max(14, Math.min(40, (height - 92) / largest - 6));
    const svg = $("ln-svg");
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.replaceChildren();
    const edgeGroup = svgElement("g", {}, svg);
    this.pulseGroup = svgElement("g", {}, svg);
    this.edges = drawEdges(edgeGroup, this.positions);
    const nodes = $("ln-nodes");
    nodes.replaceChildren();
    this.canvases = this.positions.map((column, l) => column.map((p, i) => {
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = 24;
      Object.assign(canvas.style, {
        left: `${p.x - this.nodeSize / 2}px`, top: `${p.y - this.nodeSize / 2}px`,
        width: `${this.nodeSize}px`, height: `${this.nodeSize}px`,
      });
      canvas.dataset.node = `${l},${i}`;
      nodes.appendChild(canvas);
      return canvas;
    }));
    this.data.feature_maps.forEach((map, i) => drawHeatmap(this.canvases[0][i], map.data, 24));
    const last = sizes.length - 1;
    sizes.forEach((n, l) => {
      const ctl = document.createElement("div");
      ctl.className = "layer-ctl";
      Object.assign(ctl.style, { left: `${this.positions[l][0].x}px`, top: "4px" });
      if (l === 0) ctl.textContent = `${n} feature${n === 1 ? "" : "s"}`;
      else if (l === last) ctl.textContent = "output";
      else {
        const add = document.createElement("button");
        add.textContent = "+";
        add.title = "add a neuron";
        add.disabled = n >= this.limits.neurons;
        add.addEventListener("click", () => this.resizeLayer(l - 1, +1));
        const remove = document.createElement("button");
        remove.textContent = "−";
        remove.title = "remove a neuron";
        remove.disabled = n <= 1;
        remove.addEventListener("click", () => this.resizeLayer(l - 1, -1));
        const label = document.createElement("span");
        label.textContent = ` ${n} `;
        ctl.append(add, label, remove);
      }
      nodes.appendChild(ctl);
    });
    this.animation = null;
  }

  resizeLayer(index, delta) {
    const layers = [...this.config.layers];
    layers[index] += delta;
    this.config.layers = layers;
    this.sendConfig();
  }

  updateNetwork() {
    if (!this.frame || !this.edges || this.frame.weights.length !== this.positions.length - 1) return;
    styleEdges(this.edges, this.frame.weights);
    this.frame.neurons.forEach((layer, l) => layer.forEach((map, i) => {
      const canvas = this.canvases[l + 1] && this.canvases[l + 1][i];
      if (canvas) drawHeatmap(canvas, map.data, this.frame.neuron_grid);
    }));
    const last = this.canvases.length - 1;
    const bytes = decodeBytes(this.frame.boundary.data);
    this.canvases[last].forEach((canvas, k) => this.drawOutputNode(canvas, k, bytes));
  }

  drawOutputNode(canvas, k, bytes) {
    const { size, channels } = this.frame.boundary;
    canvas.width = canvas.height = size;
    const ctx = canvas.getContext("2d");
    const image = ctx.createImageData(size, size);
    const color = channels === 1 ? null : CLASS_COLORS[k % CLASS_COLORS.length];
    for (let c = 0; c < size * size; c++) {
      const v = bytes[c * channels + (channels === 1 ? 0 : k)] / 255;
      let rgb;
      if (color) rgb = color.map((x) => Math.round(255 + (x - 255) * v));
      else {
        const t = 2 * v - 1;
        const end = t < 0 ? CLASS_COLORS[0] : CLASS_COLORS[1];
        rgb = end.map((x) => Math.round(255 + (x - 255) * Math.abs(t)));
      }
      image.data.set([...rgb, 255], 4 * c);
    }
    ctx.putImageData(image, 0, 0);
  }

  describeEdge(target) {
    if (!this.frame || !target.classList || !target.classList.contains("edge")) return "";
    const l = Number(target.dataset.l);
    const i = Number(target.dataset.i);
    const j = Number(target.dataset.j);
    let text = `w = ${fmt(this.frame.weights[l][j][i])}  (layer ${l} node ${i} → layer ${l + 1} node ${j})`;
    if (this.frame.gradients) text += `\ndL/dw = ${fmt(this.frame.gradients.weights[l][j][i], 6)} (last batch)`;
    return text;
  }

  describeNode(target) {
    if (!this.frame || !target.dataset || !target.dataset.node) return "";
    const [l, i] = target.dataset.node.split(",").map(Number);
    if (l === 0) return `feature ${this.config.features[i]}`;
    const b = this.frame.biases[l - 1][i];
    const last = this.canvases.length - 1;
    if (l === last) return `output ${i}\nbias = ${fmt(b)}`;
    const peak = this.frame.neurons[l - 1][i].peak;
    let text = `hidden ${l}, neuron ${i}\nbias = ${fmt(b)}\nmax |output| on the plane = ${fmt(peak)}`;
    if (this.frame.gradients) text += `\ndL/db = ${fmt(this.frame.gradients.biases[l - 1][i], 6)}`;
    return text;
  }

  // ----- backprop made visible --------------------------------------------------------------

  tick(now) {
    requestAnimationFrame((t) => this.tick(t));
    if (!this.animation || !this.edges || !this.visible) return;
    const layers = this.positions.length - 1;
    const elapsed = now - this.animation.start;
    const forwardEnd = layers * FORWARD_MS;
    const total = forwardEnd + layers * BACKWARD_MS + 200;
    if (!this.animation.pulses) this.animation.pulses = this.makePulses(this.animation.gradients);
    const pulses = this.animation.pulses;
    for (const p of pulses) p.el.setAttribute("visibility", "hidden");
    this.animationPhase = elapsed < forwardEnd ? "forward" : "backward";
    if (elapsed < forwardEnd) {
      const l = Math.floor(elapsed / FORWARD_MS);
      const layer = pulses.filter((p) => p.l === l);
      layer.forEach((p) => p.el.setAttribute("fill", "#ffffff"));
      placePulses(layer, (elapsed % FORWARD_MS) / FORWARD_MS);
    } else if (elapsed < forwardEnd + layers * BACKWARD_MS) {
      const back = elapsed - forwardEnd;
      const l = layers - 1 - Math.floor(back / BACKWARD_MS);
      const layer = pulses.filter((p) => p.l === l);
      layer.forEach((p) => p.el.setAttribute("fill", p.gradColor));
      placePulses(layer, (back % BACKWARD_MS) / BACKWARD_MS, { backward: true, stagger: 0.5 });
    } else if (elapsed > total) {
      for (const p of pulses) p.el.remove();
      this.animation = null;
      this.animationPhase = null;
      this.animations = (this.animations || 0) + 1;
    }
  }

  makePulses(gradients) {
    this.pulseGroup.replaceChildren();
    let peak = 0;
    for (const m of gradients.weights) for (const row of m) for (const v of row) peak = Math.max(peak, Math.abs(v));
    peak = peak || 1;
    return this.edges.map((edge) => {
      const g = gradients.weights[edge.l][edge.j][edge.i];
      const strength = Math.abs(g) / peak;
      return {
        ...edge,
        // NOTE: coloured by the direction the update will move the weight: -lr * dL/dw.
        gradColor: g <= 0 ? CYAN : MAGENTA,
        el: svgElement("circle", {
          class: "grad-pulse", r: (1.2 + 4 * Math.sqrt(strength)).toFixed(2), visibility: "hidden",
          "data-grad": g,
        }, this.pulseGroup),
      };
    });
  }

  // ----- data in, weights out -------------------------------------------------------------------

  async upload() {
    const file = $("ln-csv").files[0];
    if (!file) return;
    if (file.size > this.limits.csv_bytes) {
      window.nerveShowError(`the CSV is larger than ${this.limits.csv_bytes / 1000} kB (${file.size} bytes)`);
      return;
    }
    const text = await file.text();
    this.socket.send({ type: "learn.upload", csv: text, name: file.name.slice(0, 200) });
  }

  uploaded(message) {
    const kind = message.problem === "regression"
      ? "regression" : `${message.classes} classes (${message.class_names.join(", ")})`;
    $("ln-csv-info").textContent = `${message.name}: ${message.rows} rows, ${kind}`;
    this.config.dataset = "csv";
    this.sendConfig();
  }

  exported(message) {
    const bytes = decodeBytes(message.safetensors);
    const weights = $("ln-download-weights");
    const snippet = $("ln-download-snippet");
    if (weights.href) URL.revokeObjectURL(weights.href);
    if (snippet.href) URL.revokeObjectURL(snippet.href);
    weights.href = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
    weights.download = message.filename;
    weights.textContent = `⬇ ${message.filename}`;
    snippet.href = URL.createObjectURL(new Blob([message.snippet], { type: "text/x-python" }));
    snippet.download = message.snippet_filename;
    snippet.textContent = `⬇ ${message.snippet_filename}`;
    $("ln-snippet").textContent = message.snippet;
    $("ln-export-panel").hidden = false;
    this.lastExport = message;
  }
}
