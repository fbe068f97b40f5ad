// One WebSocket to the nerve server: JSON messages out, handlers by message type in.

export class Socket {
  constructor(url, onStatus) {
    this.url = url;
    this.onStatus = onStatus;
    this.handlers = new Map();
    this.queue = [];
    this.ws = null;
    this.sent = 0;
  }

  on(type, handler) {
    if (!this.handlers.has(type)) this.handlers.set(type, []);
    this.handlers.get(type).push(handler);
  }

  connect() {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.onStatus("connected", true);
      for (const text of this.queue) ws.send(text);
      this.queue = [];
    };
    ws.onclose = () => this.onStatus("disconnected: restart `nerve playground` and reload", false);
    ws.onerror = () => this.onStatus("connection error", false);
    ws.onmessage = (event) => {
      const message = JSON.parse(event.data);
      for (const handler of this.handlers.get(message.type) || []) handler(message);
      for (const handler of this.handlers.get("*") || []) handler(message);
    };
  }

  send(message) {
    const text = JSON.stringify(message);
    this.sent += 1;
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(text);
    else this.queue.push(text);
  }
}
