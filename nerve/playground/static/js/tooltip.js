// A single floating tooltip that follows the mouse; text comes from the element's provider.

const tip = () => document.getElementById("tooltip");

export function attachTooltip(element, textOf) {
  element.addEventListener("mousemove", (event) => {
    const text = textOf(event);
    const el = tip();
    if (!text) {
      el.hidden = true;
      return;
    }
    el.textContent = text;
    el.hidden = false;
    el.style.left = `${event.clientX + 14}px`;
    el.style.top = `${event.clientY + 14}px`;
  });
  element.addEventListener("mouseleave", () => {
    tip().hidden = true;
  });
}

export const fmt = (v, digits = 4) =>
  v === null || v === undefined || Number.isNaN(v) ? "NaN" : Number(v).toFixed(digits);
