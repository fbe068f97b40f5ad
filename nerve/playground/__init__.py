"""The playground: watch a network think (forward view) and learn (learning view) in a browser.

``nerve playground`` serves a page that talks to a nerve session over a WebSocket; everything
the page shows (weights, activations, probabilities, losses, heatmaps, gradients) is computed
by nerve on the server. Modules: protocol (messages and their checks), data (points, CSV,
features), model (the networks), forward and trainer (the two views' engines), export
(safetensors + snippet), session (one tab), server (the ASGI app).
"""
