"""The job dashboard (``/jobs``, ``/jobs/<id>``, ``/api/jobs...``) on the metrics HTTP port.

JSON and authentication over real HTTP to a real server; then what a person sees in a real
headless Chromium driven by Selenium: the job in the list, the plot gaining points while the
job improves, a failed job's error. The browser tests skip (saying how to install it) only
where Chromium, chromedriver or selenium is missing: ``make browser`` installs Chromium.
Set ``QOPT_DASHBOARD_SCREENSHOT=/tmp/x.png`` to keep a screenshot of a job page.
"""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import dimod
import pytest

from qopt.client import Client
from qopt.errors import BackendConfigurationError, Cancelled
from qopt.service.auth import hash_token
from qopt.service.limits import ServiceConfig
from qopt.service.server import Server
from qopt.solve import solve

ALICE, BOB = "alice-secret-token", "bob-secret-token"
FAIL_MESSAGE = "the QPU solver 'Advantage_test' is not available to this token"
LIVE_POINTS = 10  # improvements the "live" job reports, LIVE_STEP seconds apart
LIVE_STEP = 0.4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _solve_fn(model, backend, *, on_progress=None, cancel=None, **kw):
    """The real pipeline, except: a model with a variable ``boom`` fails as a backend would;
    one with a variable ``live`` first reports LIVE_POINTS improving incumbents on two
    branches, as the hybrid does, so the page can be seen updating."""
    if "boom" in model.variables:
        raise BackendConfigurationError(FAIL_MESSAGE)
    if "live" in model.variables and on_progress is not None:
        for i in range(LIVE_POINTS):
            if cancel is not None and cancel.wait(LIVE_STEP):
                raise Cancelled("cancelled")
            on_progress({"event": "best", "energy": -1.0 - i, "source": "hybrid",
                         "branch": ("classical", "quantum")[i % 2], "backend": ("sa", "qaoa")[i % 2]})
    return solve(model, backend, on_progress=on_progress, cancel=cancel, **kw)


@pytest.fixture(scope="module")
def dash():
    config = ServiceConfig(metrics_port=_free_port(), tokens={hash_token(ALICE): "alice", hash_token(BOB): "bob"})
    srv = Server("127.0.0.1:0", config=config, solve_fn=_solve_fn).start()
    try:
        yield srv, f"http://127.0.0.1:{srv.metrics_port}"
    finally:
        srv.stop(grace=1.0)


def _get(url, token=None):
    """(status, headers, body bytes) of a GET."""
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def _bqm(n=12, seed=1, extra=None):
    bqm = dimod.generators.gnp_random_bqm(n, 0.5, dimod.SPIN, random_state=seed)
    if extra:
        bqm.add_linear(extra, 0.5)
        bqm.add_quadratic(extra, 0, -1.0)
    return bqm


def _finished(srv, token, bqm, **kw):
    with Client(srv.address, token=token) as c:
        job = c.submit(bqm, **kw)
        job.wait(timeout=30)
        return job.job_id


# -- HTTP: authentication, ownership, JSON -----------------------------------------------
def test_every_page_needs_a_token_and_metrics_stay(dash):
    srv, base = dash
    job_id = _finished(srv, ALICE, _bqm(), backend="sa", num_reads=4)
    for path in ("/jobs", "/api/jobs", f"/jobs/{job_id}", f"/api/jobs/{job_id}"):
        status, headers, body = _get(base + path)
        assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer"), path
        assert b"?token=" in body
        assert _get(base + path, token="not-a-token")[0] == 401
        assert _get(base + path + "?token=not-a-token")[0] == 401
        assert _get(base + path, token=ALICE)[0] == 200, path
        assert _get(base + path + f"?token={ALICE}")[0] == 200, path
    status, _, body = _get(base + "/metrics", token=ALICE)
    assert status == 200 and b"qopt_requests_total" in body
    assert _get(base + "/metrics")[0] == 401
    status, headers, body = _get(base + "/static/plotly.min.js")  # public, from the plotly package
    assert status == 200 and headers["Content-Type"].startswith("text/javascript") and len(body) > 1_000_000
    assert b"plotly.js" in body[:500]
    assert _get(base + "/nowhere", token=ALICE)[0] == 404
    post = urllib.request.Request(base + "/api/jobs", data=b"{}", headers={"Authorization": f"Bearer {ALICE}"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(post, timeout=10)
    assert info.value.code == 405


def test_a_principal_sees_only_its_jobs_in_its_own_terms(dash):
    srv, base = dash
    mine = _finished(srv, ALICE, _bqm(seed=2), backend="sa", num_reads=8, name="alice-g12")
    theirs = _finished(srv, BOB, _bqm(seed=3), backend="sa", num_reads=8, name="bob-g12")
    listed = json.loads(_get(base + "/api/jobs", token=ALICE)[2])["jobs"]
    ids = [j["job_id"] for j in listed]
    assert mine in ids and theirs not in ids
    row = listed[ids.index(mine)]
    with Client(srv.address, token=ALICE) as c:
        result = c.job(mine).result(timeout=10)
    assert row["state"] == "SUCCEEDED" and row["problem_name"] == "alice-g12"
    assert row["requested_backend"] == "sa" and row["backend"] == "sa"
    assert row["routing_reason"] == result.provenance["routing"]["reason"]
    assert row["best_objective"] == pytest.approx(result.candidates[0].energy)
    assert row["gap"] == pytest.approx(result.confidence["gap"])
    assert 0 < row["elapsed"] < 30
    assert _get(base + f"/api/jobs/{mine}", token=BOB)[0] == 404  # as GetJob: NOT_FOUND, not FORBIDDEN
    assert _get(base + f"/jobs/{mine}?token={BOB}")[0] == 404
    detail = json.loads(_get(base + f"/api/jobs/{mine}", token=ALICE)[2])
    assert [c["energy"] for c in detail["candidates"]] == pytest.approx([c.energy for c in result.candidates])
    assert detail["provenance"]["problem_sha256"] == result.provenance["problem_sha256"]
    assert detail["fallback_chain"] == result.provenance.get("fallback_chain", [])
    assert detail["trace"] and detail["trace"][-1]["energy"] == pytest.approx(result.candidates[0].energy)
    assert detail["lower_bound"] == pytest.approx(result.confidence["lower_bound"])


def test_a_failed_job_reports_its_error(dash):
    srv, base = dash
    job_id = _finished(srv, ALICE, _bqm(extra="boom"), backend="sa", name="will-fail")
    detail = json.loads(_get(base + f"/api/jobs/{job_id}", token=ALICE)[2])
    assert detail["state"] == "FAILED"
    assert detail["error"]["code"] == "FAILED_PRECONDITION" and FAIL_MESSAGE in detail["error"]["message"]
    assert detail["candidates"] == []


def test_the_dashboard_keeps_its_configured_limits():
    """A job with LIVE_POINTS improvements on a server keeping 4 plot points and showing 2
    candidates: the trace keeps the first point and the 3 latest, the page 2 candidates."""
    config = ServiceConfig(metrics_port=_free_port(), dashboard_trace_points=4, dashboard_candidates_shown=2)
    with Server("127.0.0.1:0", config=config, solve_fn=_solve_fn) as srv:
        base = f"http://127.0.0.1:{srv.metrics_port}"
        job_id = _finished(srv, None, _bqm(n=60, extra="live"), backend="sa", num_reads=16, num_sweeps=4, seed=1)
        detail = json.loads(_get(base + f"/api/jobs/{job_id}")[2])
        energies = [p["energy"] for p in detail["trace"]]
        assert len(energies) == 4 and energies[0] == -1.0, energies  # the first point is never dropped
        assert energies[-1] == pytest.approx(detail["best_energy"])
        assert len(detail["candidates"]) == 2
    with pytest.raises(ValueError, match="dashboard_trace_points"):
        ServiceConfig(dashboard_trace_points=0)


def test_qopt_serve_http_port_serves_metrics_and_the_dashboard(tmp_path):
    import qopt

    port = _free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = str(pathlib.Path(qopt.__file__).resolve().parents[1]) + os.pathsep + env.get("PYTHONPATH", "")
    env["QOPT_TOKENS_SHA256"] = f"{hash_token(ALICE)}=alice"
    proc = subprocess.Popen([sys.executable, "-m", "qopt", "serve", "--address", "127.0.0.1:0", "--store",
                             str(tmp_path / "jobs.sqlite"), "--http-port", str(port), "--log-level", "warning"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("qopt serving on "), proc.stderr.read()
        base = f"http://127.0.0.1:{port}"
        status, headers, body = _get(base + f"/jobs?token={ALICE}")
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert b'src="/static/plotly.min.js"' in body
        assert _get(base + "/jobs")[0] == 401
        assert _get(base + "/metrics", token=ALICE)[0] == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)


# -- a real browser ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    try:
        from selenium import webdriver
    except ImportError:
        pytest.skip("selenium is not installed: pip install '.[test]'")
    binary = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    driver_path = shutil.which("chromedriver")
    if binary is None or driver_path is None:
        pytest.skip("Chromium or chromedriver is not installed: run `make browser` "
                    "(apt-get install -y chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1400"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver_path))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver, condition, timeout=20.0, what="condition"):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: condition(d), message=what)


def _points(driver) -> int:
    """Points in the plot's best-energy traces, as Plotly holds them (the bound excluded)."""
    return driver.execute_script(
        "var p = document.getElementById('plot');"
        "if (!p || !p.data) return -1;"
        "return p.data.filter(function (t) { return t.name.indexOf('best') === 0; })"
        ".reduce(function (n, t) { return n + t.x.length; }, 0);")


def test_browser_the_job_appears_in_the_list(dash, browser):
    from selenium.webdriver.common.by import By

    srv, base = dash
    mine = _finished(srv, ALICE, _bqm(seed=4), backend="sa", num_reads=4, name="listed-in-browser")
    theirs = _finished(srv, BOB, _bqm(seed=5), backend="sa", num_reads=4, name="bobs-job")
    browser.get(f"{base}/jobs?token={ALICE}")
    row = _wait(browser, lambda d: d.find_elements(By.ID, f"job-{mine}"), what="the job's row")[0]
    assert row.get_attribute("data-state") == "SUCCEEDED"
    assert "listed-in-browser" in row.text and "SUCCEEDED" in row.text and "sa" in row.text
    assert not browser.find_elements(By.ID, f"job-{theirs}") and "bobs-job" not in browser.page_source
    row.find_element(By.TAG_NAME, "a").click()  # the link keeps the token
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#summary[data-state=SUCCEEDED]"), what="job page")
    assert mine in browser.current_url and f"token={ALICE}" in browser.current_url


def test_browser_the_plot_grows_while_the_job_improves(dash, browser):
    from selenium.webdriver.common.by import By

    srv, base = dash
    with Client(srv.address, token=ALICE) as c:
        job = c.submit(_bqm(n=20, seed=6, extra="live"), backend="sa", num_reads=8, name="live")
        browser.get(f"{base}/jobs/{job.job_id}?token={ALICE}")
        _wait(browser, lambda d: _points(d) >= 1, what="a first point in the plot")
        first = _points(browser)
        running = browser.find_element(By.ID, "summary").get_attribute("data-state")
        _wait(browser, lambda d: _points(d) > first, what="more points as the job improves")
        result = job.result(timeout=30)
    assert running in ("QUEUED", "RUNNING") and first < LIVE_POINTS + 1
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#summary[data-state=SUCCEEDED]"), what="SUCCEEDED")
    # the 10 reported improvements and the final best, plus any the annealing kernel streams itself
    _wait(browser, lambda d: _points(d) >= LIVE_POINTS + 1, what="every improvement and the final best")
    names = browser.execute_script("return document.getElementById('plot').data.map(function (t) { return t.name; })")
    assert {"best: classical", "best: quantum"} <= set(names)
    assert any(n.startswith("certified lower bound") for n in names) == ("lower_bound" in result.confidence)
    assert browser.find_elements(By.CSS_SELECTOR, "#plot .scatterlayer .trace")  # drawn, not only data
    rows = browser.find_elements(By.CSS_SELECTOR, "#candidates tbody tr")
    assert len(rows) == min(len(result.candidates), 20)
    assert float(rows[0].find_elements(By.TAG_NAME, "td")[1].text) == pytest.approx(result.candidates[0].energy,
                                                                                   rel=1e-5)
    assert "problem_sha256" in browser.find_element(By.ID, "provenance").text
    assert browser.find_element(By.ID, "fallback").text.startswith("fallback chain")
    shot = os.environ.get("QOPT_DASHBOARD_SCREENSHOT")
    if shot:
        browser.save_screenshot(shot)


def test_browser_a_failed_job_shows_its_error(dash, browser):
    from selenium.webdriver.common.by import By

    srv, base = dash
    job_id = _finished(srv, ALICE, _bqm(extra="boom"), backend="sa", name="fails-in-browser")
    browser.get(f"{base}/jobs/{job_id}?token={ALICE}")
    error = _wait(browser, lambda d: d.find_elements(By.ID, "error"), what="the error box")[0]
    assert "FAILED_PRECONDITION" in error.text and FAIL_MESSAGE in error.text
    assert browser.find_element(By.ID, "summary").get_attribute("data-state") == "FAILED"
    browser.get(f"{base}/jobs?token={ALICE}")
    row = _wait(browser, lambda d: d.find_elements(By.ID, f"job-{job_id}"), what="the failed job's row")[0]
    assert "FAILED" in row.text and FAIL_MESSAGE in row.text


def test_browser_without_a_token_is_refused(dash, browser):
    _, base = dash
    browser.get(f"{base}/jobs")
    assert "missing or invalid token" in browser.page_source
