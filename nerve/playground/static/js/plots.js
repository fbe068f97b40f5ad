// Pictures of what nerve computed: heatmaps (from base64 bytes), the decision boundary with the
// data points, and the loss curves. Colours follow TF Playground: orange = class 0 / negative,
// blue = class 1 / positive; further classes get their own hues.

export const CLASS_COLORS = [
  [245, 147, 34], [8, 119, 189], [63, 185, 80], [163, 113, 247],
  [248, 81, 73], [0, 200, 200], [230, 200, 40], [255, 120, 200],
];

export function decodeBytes(base64) {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let k = 0; k < text.length; k++) bytes[k] = text.charCodeAt(k);
  return bytes;
}

// Diverging scale: t in [-1, 1] -> orange .. white .. blue.
export function diverging(t) {
  const [lo, hi] = [CLASS_COLORS[0], CLASS_COLORS[1]];
  const s = Math.min(1, Math.abs(t));
  const end = t < 0 ? lo : hi;
  return [0, 1, 2].map((c) => Math.round(255 + (end[c] - 255) * s));
}

// Byte -> RGBA of the diverging scale, computed once: heatmaps are drawn many times a second.
const DIVERGING_LUT = (() => {
  const lut = new Uint32Array(256);
  const view = new Uint8Array(lut.buffer);
  for (let v = 0; v < 256; v++) view.set([...diverging(v / 127.5 - 1), 255], 4 * v);
  return lut;
})();

// A size x size heatmap (bytes 0..255 meaning -peak..+peak) onto a canvas.
export function drawHeatmap(canvas, base64, size) {
  const bytes = decodeBytes(base64);
  if (canvas.width !== size) canvas.width = canvas.height = size;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(size, size);
  const pixels = new Uint32Array(image.data.buffer);
  for (let k = 0; k < size * size; k++) pixels[k] = DIVERGING_LUT[bytes[k]];
  ctx.putImageData(image, 0, 0);
}

// The boundary: `channels` bytes per cell; 1 channel = p(class 1) (or a regression value).
export function boundaryImage(boundary, problem) {
  const { size, channels } = boundary;
  const bytes = decodeBytes(boundary.data);
  const image = new ImageData(size, size);
  for (let k = 0; k < size * size; k++) {
    let rgb;
    if (channels === 1) {
      rgb = diverging(bytes[k] / 127.5 - 1);
    } else {
      let best = 0;
      for (let c = 1; c < channels; c++) if (bytes[k * channels + c] > bytes[k * channels + best]) best = c;
      const p = bytes[k * channels + best] / 255;
      const strength = Math.max(0, (p - 1 / channels) / (1 - 1 / channels));
      rgb = CLASS_COLORS[best % CLASS_COLORS.length].map((v) => Math.round(255 + (v - 255) * strength));
    }
    image.data.set([...rgb, problem === "regression" ? 255 : 230], 4 * k);
  }
  return image;
}

export function drawBoundary(canvas, frame, data, showTest) {
  const ctx = canvas.getContext("2d");
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  if (frame && frame.boundary) {
    const image = boundaryImage(frame.boundary, data.problem);
    const off = new OffscreenCanvas(image.width, image.height);
    off.getContext("2d").putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(off, 0, 0, width, height);
  }
  if (!data) return;
  const toPx = ([x, y]) => [
    ((x + data.extent) / (2 * data.extent)) * width,
    ((data.extent - y) / (2 * data.extent)) * height,
  ];
  const drawPoints = (part, stroke) => {
    part.x.forEach((point, k) => {
      const [px, py] = toPx(point);
      const label = part.y[k];
      const rgb = data.problem === "regression"
        ? diverging(label) : CLASS_COLORS[label % CLASS_COLORS.length];
      ctx.beginPath();
      ctx.arc(px, py, 3.2, 0, 2 * Math.PI);
      ctx.fillStyle = `rgb(${rgb.join(",")})`;
      ctx.fill();
      ctx.lineWidth = 1;
      ctx.strokeStyle = stroke;
      ctx.stroke();
    });
  };
  drawPoints(data.train, "#ffffff");
  if (showTest) drawPoints(data.test, "#000000");
  ctx.strokeStyle = "#0006";
  ctx.beginPath();
  ctx.moveTo(width / 2, 0); ctx.lineTo(width / 2, height);
  ctx.moveTo(0, height / 2); ctx.lineTo(width, height / 2);
  ctx.stroke();
}

export function drawLossChart(canvas, history) {
  const ctx = canvas.getContext("2d");
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  if (!history || history.epoch.length < 1) return;
  const values = [...history.train, ...history.test].filter((v) => v !== null && Number.isFinite(v));
  if (!values.length) return;
  const top = Math.max(...values) * 1.05 || 1;
  const lastEpoch = history.epoch[history.epoch.length - 1] || 1;
  const line = (series, color) => {
    ctx.beginPath();
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.5;
    let started = false;
    series.forEach((v, k) => {
      if (v === null) return;
      const x = (history.epoch[k] / lastEpoch) * (width - 4) + 2;
      const y = height - 2 - (v / top) * (height - 4);
      if (started) ctx.lineTo(x, y);
      else ctx.moveTo(x, y);
      started = true;
    });
    ctx.stroke();
  };
  line(history.train, "#8b949e");
  line(history.test, "#ffffff");
}
