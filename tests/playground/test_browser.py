"""End to end in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

Screenshots of both views go to artifacts/ (git-ignored); with NERVE_UPDATE_DOCS_IMAGES=1 they are
also copied to docs/img/ (the README's pictures), so a plain test run leaves the tree clean.
"""

import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
DOCS_IMG = ROOT / "docs" / "img"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page_ = context.new_page()
    errors = []
    page_.on("pageerror", lambda err: errors.append(str(err)))
    page_.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page_.errors = errors
    yield page_
    context.close()
    assert not errors, f"errors in the page: {errors}"


def screenshot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path))
    if os.environ.get("NERVE_UPDATE_DOCS_IMAGES") == "1":
        shutil.copyfile(path, DOCS_IMG / name)


def sessions(url):
    with urllib.request.urlopen(f"{url}/status") as response:
        return json.load(response)["sessions"]


def wait_for_sessions(url, count, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while sessions(url) != count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sessions(url) == count


def wait_js(page, expression, timeout_s=15.0):
    # NOTE: a function, not a bare expression: the page's CSP forbids eval of strings.
    page.wait_for_function(f"() => ({expression})", timeout=timeout_s * 1000)


def edge_colours(page):
    return page.eval_on_selector_all(
        "#fw-svg line.edge", "els => els.map(e => e.getAttribute('stroke'))"
    )


def test_forward_view_shows_the_network_and_randomize_changes_it(page, live_server):
    url, _ = live_server
    page.goto(url)
    wait_js(page, "window.nerve && nerve.forward.sample !== null")
    assert page.input_value("#fw-layers") == "5-7-6-2"
    labels = page.eval_on_selector_all("#fw-svg text", "els => els.map(e => e.textContent)")
    for label in ("input (5)", "hidden 1 (7)", "hidden 2 (6)", "output (2)"):
        assert label in labels
    assert page.locator("#fw-svg circle.node").count() == 5 + 7 + 6 + 2
    assert page.locator("#fw-svg line.edge").count() == 5 * 7 + 7 * 6 + 6 * 2
    assert page.text_content("#fw-temp-value") == "0.65"
    assert page.input_value("#fw-temp") == "0.65"

    # the percentages shown are nerve's softmax(logits / 0.65)
    wait_js(page, "/%$/.test(document.getElementById('fw-prob-0').textContent)")
    sample = page.evaluate("nerve.forward.sample")
    logits = np.array(sample["logits"]) / 0.65
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(sample["probs"], expected, rtol=1e-5)
    for k, p in enumerate(sample["probs"]):
        assert page.text_content(f"#fw-prob-{k}") == f"{100 * p:.1f}%"

    # edge colours: cyan for positive weights, magenta for negative ones
    weights = page.evaluate("nerve.forward.network.weights")
    colours = edge_colours(page)
    flat = [w for layer in weights for row in layer for w in row]
    assert {"#00e5ff", "#ff2bd6"} == set(colours)
    by_edge = page.eval_on_selector_all(
        "#fw-svg line.edge",
        "els => els.map(e => [+e.dataset.l, +e.dataset.i, +e.dataset.j, e.getAttribute('stroke')])",
    )
    for l, i, j, colour in by_edge:
        assert colour == ("#00e5ff" if weights[l][j][i] >= 0 else "#ff2bd6")
    assert len(flat) == len(colours)

    # hovering an edge shows the weight nerve computed
    l, i, j, _ = by_edge[10]
    page.hover(f"#fw-svg line.edge[data-l='{l}'][data-i='{i}'][data-j='{j}']", force=True)
    assert f"w = {weights[l][j][i]:.4f}" in page.text_content("#tooltip")

    seed = page.evaluate("nerve.forward.network.seed")
    page.click("#fw-randomize")
    wait_js(page, f"nerve.forward.network.seed !== {seed}")
    assert edge_colours(page) != colours
    assert page.evaluate("nerve.forward.network.weights") != weights

    # wait for pulses in flight (and a lit output) for the screenshot
    page.mouse.move(5, 5)
    cycles = page.evaluate("nerve.forward.cycles")
    wait_js(page, f"nerve.forward.cycles > {cycles} && nerve.forward.phase === 1")
    wait_js(
        page, "nerve.forward.phase === 1 && nerve.forward.frac > 0.3 && nerve.forward.frac < 0.7"
    )
    screenshot(page, "playground-forward.png")


def test_temperature_slider_and_bad_layer_sizes(page, live_server):
    url, _ = live_server
    page.goto(url)
    wait_js(page, "window.nerve && nerve.forward.sample !== null")
    page.locator("#fw-temp").fill("2")
    wait_js(page, "nerve.forward.sample.temperature === 2")
    sample = page.evaluate("nerve.forward.sample")
    logits = np.array(sample["logits"]) / 2.0
    expected = np.exp(logits) / np.exp(logits).sum()
    np.testing.assert_allclose(sample["probs"], expected, rtol=1e-5)
    assert "temperature=2" in page.evaluate("location.hash")

    page.fill("#fw-layers", "5-7-99-2")
    page.click("#fw-apply")
    page.wait_for_selector("#error-banner:not([hidden])")
    assert re.search(r"between 1 and 16.*forward\.init\.layers", page.text_content("#error-text"))
    page.fill("#fw-layers", "3-4-3")
    page.click("#fw-apply")
    wait_js(page, "nerve.forward.network.layers.join('-') === '3-4-3'")
    assert page.locator("#fw-svg line.edge").count() == 3 * 4 + 4 * 3


def test_learning_view_xor_trains_uploads_and_exports(page, live_server, tmp_path):
    url, _ = live_server
    page.goto(url)
    page.click("#tab-learn")
    wait_js(page, "nerve.learn.data !== null && nerve.learn.frame !== null")
    page.click("#ln-datasets button[data-dataset='xor']")
    page.select_option("#ln-optimizer", "adam")
    wait_js(page, "nerve.learn.confirmed.optimizer === 'adam'")
    assert "dataset=xor" in page.evaluate("location.hash")
    assert "optimizer=adam" in page.evaluate("location.hash")

    # play: the test loss falls below 0.25 within 30 s
    start = time.monotonic()
    page.click("#ln-play")
    wait_js(page, "nerve.learn.frame.running && nerve.learn.frame.metrics.test_loss < 0.25", 30)
    elapsed = time.monotonic() - start
    shown = float(page.text_content("#ln-test-loss"))
    assert shown < 0.3, f"test loss shown {shown} after {elapsed:.1f}s"
    assert page.text_content("#ln-epoch") != "000,000"

    # backprop made visible: gradient pulses run backward after the forward pulse
    page.check("#ln-backprop")
    wait_js(page, "nerve.learn.frame.gradients !== undefined")
    wait_js(
        page,
        "nerve.learn.animationPhase === 'backward' && document.querySelectorAll("
        "'#ln-svg circle.grad-pulse[visibility=visible]').length > 3",
    )
    screenshot(page, "playground-learning.png")
    page.uncheck("#ln-backprop")
    page.click("#ln-play")  # pause
    wait_js(page, "nerve.learn.frame.running === false")

    # export: download both files, load the weights back in Python, same predictions
    page.click("#ln-export")
    page.wait_for_selector("#ln-export-panel:not([hidden])")
    with page.expect_download() as weights_download:
        page.click("#ln-download-weights")
    with page.expect_download() as snippet_download:
        page.click("#ln-download-snippet")
    weights_path = tmp_path / weights_download.value.suggested_filename
    snippet_path = tmp_path / snippet_download.value.suggested_filename
    weights_download.value.save_as(weights_path)
    snippet_download.value.save_as(snippet_path)
    assert weights_path.name == "playground-xor.safetensors"
    probe = page.evaluate("nerve.learn.lastExport.probe")
    code = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        f"import {snippet_path.stem.replace('-', '_')} as snippet\n"
        f"print(json.dumps(snippet.predict({probe['points']!r}).tolist()))\n"
    )
    shutil.copyfile(snippet_path, tmp_path / (snippet_path.stem.replace("-", "_") + ".py"))
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    np.testing.assert_allclose(json.loads(result.stdout), probe["outputs"], rtol=1e-4, atol=1e-5)

    # upload a small CSV of three classes and train on it
    rng = np.random.default_rng(0)
    rows = ["x,y,label"]
    for label, (cx, cy) in enumerate([(0, 10), (10, 0), (-10, -10)]):
        for x, y in rng.normal(0, 1.5, size=(20, 2)) + (cx, cy):
            rows.append(f"{x:.3f},{y:.3f},{'abc'[label]}")
    csv_path = tmp_path / "three.csv"
    csv_path.write_text("\n".join(rows))
    page.set_input_files("#ln-csv", str(csv_path))
    wait_js(page, "nerve.learn.data.config.dataset === 'csv'")
    assert "60 rows, 3 classes (a, b, c)" in page.text_content("#ln-csv-info")
    assert page.evaluate("nerve.learn.data.num_classes") == 3
    # the server sends the data, then a frame: wait for the frame of the new three-class network
    wait_js(page, "nerve.learn.frame.boundary.channels === 3")
    page.click("#ln-play")
    wait_js(page, "nerve.learn.frame.metrics.train_accuracy > 0.9", 30)
    page.click("#ln-play")

    # a bad CSV is refused with a message on the page, and the session keeps working
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,0\n3,x,1\n4,5,0\n6,7,1\n")
    page.set_input_files("#ln-csv", str(bad))
    page.wait_for_selector("#error-banner:not([hidden])")
    assert "data row 2: x1 and x2 must be numbers" in page.text_content("#error-text")


def test_the_url_reproduces_a_setup(browser, live_server):
    url, _ = live_server
    link = (
        f"{url}/#view=learn&dataset=spiral&classes=3&noise=10&layers=8,8,8&activation=relu"
        "&features=x1,x2,sin%20x1&lr=0.01&seed=42&fw_layers=4-3-2&fw_seed=9&temperature=1.5"
    )
    seen = []
    for _ in range(2):
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.goto(link)
        wait_js(
            page, "window.nerve && nerve.learn.frame !== null && nerve.forward.network !== null"
        )
        assert page.is_visible("#view-learn") and not page.is_visible("#view-forward")
        config = page.evaluate("nerve.learn.confirmed")
        assert config["dataset"] == "spiral" and config["layers"] == [8, 8, 8]
        assert config["features"] == ["x1", "x2", "sin x1"] and config["seed"] == 42
        assert page.evaluate("nerve.learn.data.sizes") == [3, 8, 8, 8, 3]
        assert page.evaluate("nerve.forward.network.layers") == [4, 3, 2]
        seen.append(
            page.evaluate(
                "[nerve.learn.data.train, nerve.learn.frame.weights, nerve.forward.network.weights]"
            )
        )
        context.close()
    assert seen[0] == seen[1]


def test_a_bad_link_shows_the_error_and_falls_back_to_defaults(page, live_server):
    url, _ = live_server
    page.goto(f"{url}/#view=learn&dataset=xor&lr=99&fw_layers=5-0-2")
    page.wait_for_selector("#error-banner:not([hidden])")
    wait_js(page, "window.nerve && nerve.learn.frame !== null && nerve.forward.network !== null")
    assert page.evaluate("nerve.learn.confirmed.lr") == 0.03
    assert page.evaluate("nerve.forward.network.layers") == [5, 7, 6, 2]
    errors = page.text_content("#error-text")
    assert "'lr' must be between" in errors or "'layers' must be between" in errors


def test_a_diverging_run_is_shown_and_can_be_reset(page, live_server):
    url, _ = live_server
    page.goto(
        f"{url}/#view=learn&dataset=plane&layers=8,8&activation=linear&lr=10"
        "&features=x1,x2,x1%5E2,x2%5E2,x1*x2&optimizer=momentum"
    )
    wait_js(page, "window.nerve && nerve.learn.frame !== null")
    assert page.input_value("#ln-lr") == "10" and page.is_hidden("#ln-diverged")
    page.click("#ln-play")
    page.wait_for_selector("#ln-diverged:not([hidden])")
    assert page.text_content("#ln-test-loss") == "NaN"
    assert page.text_content("#ln-play") == "▶"  # stopped by itself
    page.click("#ln-reset")
    wait_js(page, "nerve.learn.frame.diverged === false")
    assert page.is_hidden("#ln-diverged") and page.text_content("#ln-test-loss") != "NaN"


def test_a_closed_tab_frees_its_session(browser, live_server):
    url, app = live_server
    wait_for_sessions(url, 0)  # the earlier tests' tabs are closed
    context = browser.new_context()
    page = context.new_page()
    page.goto(url)
    wait_js(page, "window.nerve && nerve.forward.network !== null")
    assert sessions(url) == 1
    page.click("#tab-learn")
    page.click("#ln-play")
    wait_js(page, "nerve.learn.frame && nerve.learn.frame.running")
    context.close()
    wait_for_sessions(url, 0)


def test_no_request_leaves_the_server(page, live_server):
    url, _ = live_server
    outside = []
    page.on(
        "request",
        lambda r: (
            None
            if r.url.startswith(url) or r.url.startswith(("data:", "blob:"))
            else outside.append(r.url)
        ),
    )
    page.goto(url)
    wait_js(page, "window.nerve && nerve.forward.sample !== null")
    assert outside == []
    assert math.isclose(page.evaluate("nerve.forward.temperature"), 0.65)
