"""The console's workflows in a real headless Chromium against the real server, each effect checked through the
REST API: sign in, upload a model with a progress bar, start a deployment, test it, update it to 2 allocations
while a background load runs (and see the live charts move), deploy a second build and roll back, restart, stop
and start again; the nodes page; and a user without `manage_ml` sees the actions disabled with the reason.

One server and one browser serve the whole module; the steps run in order, as a person would do them, on one
model. The background load runs from the update to the restart, with client retries off: every request checks its
own answer, and not one may fail.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch
from playwright.sync_api import Browser, Page, expect

from tests.support.api import echoed_ids, eventually, expected_ids, workers
from tests.support.browser import (
    LAPTOP,
    PHONE,
    BrowserErrors,
    console_url,
    screenshots_dir,
    sign_in_with_key,
    sign_in_with_password,
)
from tests.support.build_models import marked_echo_model, marker_of
from tests.support.load import Load
from tests.support.models import TestModel, make_test_model, upload_test_model
from tests.support.server import ServerProcess, client_for, http_for

pytestmark = pytest.mark.slow

MODEL = "console-echo"
VIEWER = ("console-viewer", "viewer-password")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("console") / "data",
                            extra_env={"INFERD_PROCESSORS": "4", "INFERD_NODES": "2"}).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def es(server: ServerProcess) -> Elasticsearch:
    return client_for(server.url, connections_per_node=16)


@pytest.fixture(scope="module")
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with http_for(server.url) as client:
        yield client


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return screenshots_dir(tmp_path_factory)


@pytest.fixture(scope="module")
def errors() -> BrowserErrors:
    return BrowserErrors()


@pytest.fixture(scope="module")
def page(browser: Browser, server: ServerProcess, errors: BrowserErrors) -> Iterator[Page]:
    """The admin's tab, signed in once for the whole module."""
    context = browser.new_context(viewport=LAPTOP)
    tab = context.new_page()
    errors.watch(tab)
    yield tab
    context.close()


@pytest.fixture(scope="module")
def build_1(tmp_path_factory: pytest.TempPathFactory) -> TestModel:
    """The echo model padded to 2.5 MB: the browser uploads it in three 1 MiB parts."""
    return make_test_model("echo", tmp_path_factory.mktemp("console-models"), extra_bytes=2_500_000)


@pytest.fixture(scope="module")
def build_2(tmp_path_factory: pytest.TempPathFactory) -> TestModel:
    """An echo whose answers carry the marker 2: they say which build answered."""
    return marked_echo_model(tmp_path_factory.mktemp("console-build-2"), 2)


@pytest.fixture(scope="module")
def load(es: Elasticsearch) -> Iterator[dict[str, Load]]:
    """The background load, started by the update step and checked (then stopped) by the restart step."""
    running: dict[str, Load] = {}
    yield running
    if "load" in running:
        running["load"].__exit__(None, None, None)


def shot(page: Page, shots: Path, name: str, *, full_page: bool = True) -> None:
    page.wait_for_timeout(300)  # let the last repaint land
    page.screenshot(path=str(shots / f"{name}.png"), full_page=full_page)


def deployment_view(http: httpx.Client, deployment_id: str) -> dict[str, Any]:
    response = http.get(f"/_inferd/deployments/{deployment_id}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def lifecycle_is(http: httpx.Client, deployment_id: str, lifecycle: str) -> bool:
    return deployment_view(http, deployment_id)["lifecycle"] == lifecycle


def click_action(page: Page, action: str) -> None:
    page.locator(f"[data-action='{action}']").click()


def confirm(page: Page, label: str) -> None:
    dialog = page.locator("dialog[open]")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name=label, exact=True).click()
    expect(page.locator("dialog[open]")).to_have_count(0)


# --- the steps ---------------------------------------------------------------------------------------------------------

def test_1_a_browser_at_the_root_signs_in_and_gets_a_session_cookie_scripts_cannot_read(
        page: Page, server: ServerProcess, shots: Path) -> None:
    page.goto(server.url + "/")
    assert page.url == console_url(server.url)  # GET / with Accept: text/html goes to the console
    expect(page.get_by_role("heading", name="Sign in to inferd")).to_be_visible()
    shot(page, shots, "01-sign-in")
    sign_in_with_key(page, server.url, server.admin_key)
    expect(page.get_by_test_id("user-name")).to_have_text("inferd-admin (API key of elastic)")
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "inferd_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert "inferd_session" not in page.evaluate("document.cookie")
    assert server.admin_key not in cookie["value"]
    shot(page, shots, "02-models-empty")


def test_2_upload_a_model_from_the_browser_with_a_progress_bar(
        page: Page, http: httpx.Client, build_1: TestModel, shots: Path) -> None:
    click_action(page, "add-model")
    dialog = page.locator("dialog[open]")
    dialog.locator("#upload-id").fill(MODEL)
    traced = build_1.definition_path.parent
    dialog.get_by_label("TorchScript definition").set_input_files(str(build_1.definition_path))
    dialog.get_by_label("Config").set_input_files(str(traced / "config.json"))
    dialog.get_by_label("Vocabulary").set_input_files(str(traced / "vocabulary.json"))
    # Record every value the progress bar takes while the parts go up.
    page.evaluate("""() => {
        window.progressSeen = [];
        const bar = document.querySelector('dialog[open] [role=progressbar]');
        new MutationObserver(() => window.progressSeen.push(Number(bar.getAttribute('aria-valuenow'))))
            .observe(bar, {attributes: true, attributeFilter: ['aria-valuenow']});
    }""")
    dialog.get_by_role("button", name="Upload").click()
    expect(dialog.get_by_test_id("upload-message")).to_have_text(f"Model {MODEL} is uploaded.", timeout=60_000)
    seen = page.evaluate("window.progressSeen")
    assert any(0 < value < 100 for value in seen) and seen[-1] == 100, seen
    shot(page, shots, "03-add-model-uploaded")
    dialog.get_by_role("button", name="Close").click()

    builds = http.get(f"/_inferd/models/{MODEL}/builds").json()["builds"]
    assert [(b["build_number"], b["state"], b["total_parts"]) for b in builds] == [(1, "ready", 3)]
    assert builds[0]["definition_sha256"] == hashlib.sha256(build_1.definition_path.read_bytes()).hexdigest()
    row = page.locator(f"tr[data-model='{MODEL}']")
    expect(row.get_by_test_id("model-state")).to_have_text("Ready to deploy")
    shot(page, shots, "04-models")


def test_3_start_a_deployment_from_the_form(page: Page, http: httpx.Client, es: Elasticsearch, shots: Path) -> None:
    page.locator(f"tr[data-model='{MODEL}'] [data-action='deploy']").click()
    expect(page.get_by_role("heading", name=f"Start a deployment of {MODEL}")).to_be_visible()
    expect(page.get_by_test_id("explanation")).to_contain_text("1 allocation × 1 thread = 1 of this server's 4 processors (2 nodes")
    page.get_by_role("button", name="Show the API request").click()
    request = page.get_by_test_id("api-request")
    expect(request).to_contain_text(f"/_ml/trained_models/{MODEL}/deployment/_start")
    expect(request).to_contain_text("$INFERD_API_KEY")
    page.get_by_role("tab", name="inferd CLI").click()
    expect(request).to_contain_text(f"inferd deployments start {MODEL} --deployment-id {MODEL} --allocations 1")
    shot(page, shots, "05-start-deployment-form")
    click_action(page, "submit-deploy")
    expect(page.get_by_role("heading", name=MODEL, exact=True)).to_be_visible()
    eventually(lambda: lifecycle_is(http, MODEL, "deployed"), 60, "the deployment serving")
    expect(page.get_by_test_id("lifecycle")).to_have_text("deployed", timeout=15_000)
    stats = es.ml.get_trained_models_stats(model_id=MODEL)["trained_model_stats"][0]["deployment_stats"]
    assert (stats["state"], stats["number_of_allocations"], stats["threads_per_allocation"]) == ("started", 1, 1)
    expect(page.get_by_test_id("route-allocations")).to_have_text("1")


def test_4_test_the_model_shows_the_result_the_raw_json_and_the_time(
        page: Page, es: Elasticsearch, shots: Path) -> None:
    click_action(page, "test")
    text = "hello world this is a test"
    page.get_by_label("Text", exact=True).fill(text)
    click_action(page, "run-test")
    expect(page.get_by_test_id("vector-size")).to_have_text(str(len(expected_ids(text)) * 4))
    expect(page.get_by_test_id("took")).to_contain_text("ms")
    shown = json.loads(page.get_by_test_id("raw").inner_text())
    direct = es.ml.infer_trained_model(model_id=MODEL, docs=[{"text_field": text}])
    assert shown["inference_results"] == direct["inference_results"]
    assert echoed_ids(shown["inference_results"][0]) == expected_ids(text)
    shot(page, shots, "06-test-model")


def test_5_update_to_2_allocations_while_a_load_runs_and_see_the_charts_move(
        page: Page, server: ServerProcess, es: Elasticsearch, load: dict[str, Load], shots: Path) -> None:
    load["load"] = Load(es, MODEL, clients=4).__enter__()
    page.goto(console_url(server.url) + f"#/deployments/{MODEL}")
    expect(page.get_by_test_id("now-allocations")).to_have_text("1 serving of 1 asked for", timeout=15_000)
    expect(page.get_by_test_id("now-requests")).not_to_have_text("–", timeout=15_000)
    page.wait_for_function("() => parseFloat(document.querySelector('[data-testid=now-requests]').textContent"
                           ".replace(/,/g, '')) >= 10")  # the load shows on the charts
    allocations_chart = page.locator("[data-chart='allocations']")
    before = allocations_chart.screenshot()
    shot(page, shots, "07-deployment-live-1-allocation")

    click_action(page, "update")
    expect(page.get_by_role("heading", name=f"Update deployment {MODEL}")).to_be_visible()
    page.get_by_label("Allocations", exact=True).fill("2")
    expect(page.get_by_test_id("explanation")).to_contain_text("2 allocations × 1 thread = 2 of this server's 4 processors")
    click_action(page, "submit-deploy")
    expect(page.get_by_test_id("now-allocations")).to_have_text("2 serving of 2 asked for", timeout=30_000)
    stats = es.ml.get_trained_models_stats(model_id=MODEL)["trained_model_stats"][0]["deployment_stats"]
    assert stats["number_of_allocations"] == 2 and stats["allocation_status"]["allocation_count"] == 2
    page.wait_for_timeout(2500)  # a few more samples on the chart
    assert allocations_chart.screenshot() != before, "the allocations chart did not move"
    shot(page, shots, "08-deployment-live-2-allocations")


def test_6_deploy_a_second_build_then_roll_back(
        page: Page, http: httpx.Client, es: Elasticsearch, build_2: TestModel, shots: Path) -> None:
    click_action(page, "new-build")
    expect(page.get_by_role("heading", name=f"Deploy a new build of {MODEL}")).to_be_visible()
    page.get_by_label("Comment").fill("marked echo")
    page.get_by_label("TorchScript definition").set_input_files(str(build_2.definition_path))
    page.get_by_label("Vocabulary").set_input_files(str(build_2.definition_path.parent / "vocabulary.json"))
    page.get_by_role("button", name="Upload build").click()
    expect(page.get_by_role("heading", name="Build 2 is uploaded")).to_be_visible(timeout=60_000)
    click_action(page, "deploy-new-build")
    expect(page.get_by_role("heading", name=f"Re-deploy {MODEL}")).to_be_visible()
    expect(page.get_by_label("Build", exact=True)).to_have_value("2")
    page.get_by_role("button", name="Show the API request").click()
    expect(page.get_by_test_id("api-request")).to_contain_text('"build":2')
    shot(page, shots, "09-redeploy-form")
    click_action(page, "submit-deploy")
    expect(page.get_by_test_id("rollout")).to_be_visible()
    expect(page.get_by_test_id("build")).to_have_text("#2", timeout=60_000)
    eventually(lambda: deployment_view(http, MODEL)["rollout"]["stage"] == "done", 60, "the rollout to finish")
    view = deployment_view(http, MODEL)
    assert view["build_number"] == 2 and {r["build_number"] for r in view["routes"]} == {2}
    answer = es.ml.infer_trained_model(model_id=MODEL, docs=[{"text_field": "hello world"}])
    assert marker_of(answer["inference_results"][0]) == 2
    expect(page.locator("[data-testid=rollout] li.current, [data-testid=rollout] li.done")).to_have_count(4, timeout=15_000)
    shot(page, shots, "10-rolled-out-build-2")

    click_action(page, "rollback")
    diff = page.get_by_test_id("diff")
    expect(diff.locator("tr.changed").first).to_contain_text("#2")
    expect(diff.locator("tr.changed").first).to_contain_text("#1")
    shot(page, shots, "11-rollback-confirmation", full_page=False)
    confirm(page, "Roll back")
    expect(page.get_by_test_id("build")).to_have_text("#1", timeout=60_000)
    eventually(lambda: deployment_view(http, MODEL)["rollout"]["stage"] == "done", 60, "the rollback to finish")
    view = deployment_view(http, MODEL)
    assert view["build_number"] == 1 and view["settings"]["number_of_allocations"] == 2
    history = http.get(f"/_inferd/deployments/{MODEL}/history").json()["history"]
    assert [entry["action"] for entry in history[:3]] == ["rollback", "redeploy", "update"]


def test_7_restart_replaces_every_worker_and_the_load_saw_no_failure(
        page: Page, http: httpx.Client, load: dict[str, Load], shots: Path) -> None:
    pids = {w["pid"] for w in workers(http, MODEL)}
    click_action(page, "restart")
    confirm(page, "Restart")
    eventually(lambda: deployment_view(http, MODEL)["rollout"]["action"] == "restart"
               and deployment_view(http, MODEL)["rollout"]["stage"] == "done", 60, "the restart to finish")
    now = {w["pid"] for w in workers(http, MODEL)}
    assert now and not now & pids
    background = load.pop("load")
    background.__exit__(None, None, None)
    assert background.failures == [] and background.wrong == [], (background.failures[:5], background.wrong[:5])
    assert background.ok > 50
    expect(page.get_by_test_id("history").locator("tbody tr").first).to_contain_text("restart", timeout=15_000)
    shot(page, shots, "12-restarted")


def test_8_stop_with_ok_then_start_again(page: Page, http: httpx.Client, shots: Path) -> None:
    click_action(page, "stop")
    expect(page.locator("dialog[open]")).to_contain_text(f"Stop deployment {MODEL}?")
    confirm(page, "OK")
    expect(page.get_by_test_id("lifecycle")).to_have_text("stopped", timeout=60_000)
    assert deployment_view(http, MODEL)["lifecycle"] == "stopped"
    expect(page.locator("[data-action='stop']")).to_be_hidden()
    shot(page, shots, "13-stopped")
    click_action(page, "start-again")
    eventually(lambda: lifecycle_is(http, MODEL, "deployed"), 60, "the deployment serving again")
    expect(page.get_by_test_id("lifecycle")).to_have_text("deployed", timeout=15_000)
    view = deployment_view(http, MODEL)
    assert view["build_number"] == 1 and view["settings"]["number_of_allocations"] == 2


def test_9_the_nodes_page_shows_each_nodes_processors_and_allocations(
        page: Page, http: httpx.Client, server: ServerProcess, shots: Path) -> None:
    page.goto(console_url(server.url) + "#/nodes")
    nodes = http.get("/_inferd/nodes").json()["nodes"]
    assert len(nodes) == 2
    for node in nodes:
        panel = page.locator(f"[data-node='{node['node_id']}']")
        used = sum(node["allocations"].values())  # one thread per allocation
        expect(panel.get_by_test_id("left")).to_have_text(f"{node['processors'] - used} processors")
    shot(page, shots, "14-nodes")
    page.goto(console_url(server.url) + "#/deployments")
    expect(page.locator(f"a[href='#/deployments/{MODEL}']")).to_be_visible()
    shot(page, shots, "15-deployments")
    page.goto(console_url(server.url) + f"#/models/{MODEL}")
    expect(page.get_by_test_id("builds").locator("tbody tr")).to_have_count(2)
    shot(page, shots, "16-model-overview")


def test_10_on_a_phone_the_pages_fit_the_screen(browser: Browser, server: ServerProcess, shots: Path) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        phone = context.new_page()
        sign_in_with_key(phone, server.url, server.admin_key)
        for name, fragment in (("models", "#/models"), ("deployment", f"#/deployments/{MODEL}")):
            phone.goto(console_url(server.url) + fragment)
            phone.wait_for_timeout(1500)
            overflow = phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 1, f"the {name} page is wider than the phone by {overflow}px"
            shot(phone, shots, f"17-phone-{name}")
    finally:
        context.close()


def test_10b_every_field_has_a_label_and_the_keyboard_reaches_the_actions(page: Page, server: ServerProcess) -> None:
    for fragment in ("#/models", f"#/models/{MODEL}", f"#/models/{MODEL}/deploy", f"#/deployments/{MODEL}/update",
                     f"#/deployments/{MODEL}", f"#/deployments/{MODEL}/test", f"#/models/{MODEL}/builds/new", "#/nodes"):
        page.goto(console_url(server.url) + fragment)
        page.wait_for_load_state("networkidle")
        unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea')]
            .filter((field) => field.offsetParent !== null && !field.labels.length && !field.getAttribute('aria-label'))
            .map((field) => field.outerHTML)""")
        assert unlabelled == [], fragment
        assert page.locator("h1").count() == 1, fragment
    page.goto(console_url(server.url) + "#/models")
    expect(page.locator("[data-action='add-model']")).to_be_visible()
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.action") == "add-model":
            break
    else:
        raise AssertionError("Tab never reached Add model")
    page.keyboard.press("Enter")
    expect(page.locator("dialog[open]")).to_be_visible()
    expect(page.locator("dialog[open] #upload-id")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("dialog[open]")).to_have_count(0)


def test_11_a_user_without_manage_ml_sees_the_actions_disabled_with_the_reason(
        browser: Browser, server: ServerProcess, http: httpx.Client, shots: Path) -> None:
    username, password = VIEWER
    created = http.put(f"/_security/user/{username}", json={"password": password, "roles": ["machine_learning_user"]})
    assert created.status_code == 200, created.text
    context = browser.new_context(viewport=LAPTOP)
    try:
        viewer = context.new_page()
        sign_in_with_password(viewer, server.url, username, password)
        expect(viewer.get_by_test_id("user-name")).to_have_text(username)
        add = viewer.locator("[data-action='add-model']")
        expect(add).to_be_disabled()
        expect(add).to_have_attribute("title", f"action [cluster:admin/xpack/ml/inference/put] is unauthorized for user "
                                               f"[{username}] with effective roles [machine_learning_user], this action "
                                               "is granted by the cluster privileges [manage_ml,manage,all]")
        expect(viewer.locator(f"tr[data-model='{MODEL}'] [data-action='deploy']")).to_be_disabled()
        shot(viewer, shots, "18-viewer-models")
        viewer.goto(console_url(server.url) + f"#/deployments/{MODEL}")
        expect(viewer.get_by_test_id("lifecycle")).to_have_text("deployed")
        for action in ("update", "redeploy", "new-build", "rollback", "restart", "stop"):
            button = viewer.locator(f"[data-action='{action}']")
            expect(button).to_be_disabled()
            expect(button).to_have_attribute("title", re.compile(r".*\[manage_ml,manage,all\]"))
        expect(viewer.locator("[data-action='test']")).to_be_enabled()  # monitor_ml may infer
        shot(viewer, shots, "19-viewer-deployment")
        # The server refuses what the page disables: a call forced from the page is Elasticsearch's 403.
        status = viewer.evaluate("""async () => {
            const session = await (await fetch('/_inferd/console/session')).json();
            const response = await fetch('/_inferd/deployments/console-echo/_stop', {method: 'POST',
                headers: {[session.csrf_header]: session.session.csrf_token}});
            return response.status;
        }""")
        assert status == 403
        assert lifecycle_is(http, MODEL, "deployed")
    finally:
        context.close()


TASK_TEXTS = {
    "ner": ("Jim Henson was a puppeteer in New York City", ""),
    "text_classification": ("I love this search engine", ""),
    "question_answering": ("Jim Henson was a puppeteer who lived in New York City", "Where did Jim Henson live?"),
    "fill_mask": ("The [MASK] is a big city", ""),
    "text_embedding": ("hello world", ""),
}


@pytest.mark.parametrize("task", list(TASK_TEXTS))
def test_12_each_task_is_drawn_the_way_a_person_reads_it(
        task: str, page: Page, server: ServerProcess, es: Elasticsearch, tmp_path_factory: pytest.TempPathFactory,
        shots: Path) -> None:
    model_id = f"console-{task.replace('_', '-')}"
    upload_test_model(es, model_id, make_test_model(task, tmp_path_factory.getbasetemp() / "console-tasks"))
    es.ml.start_trained_model_deployment(model_id=model_id, wait_for="started")
    try:
        page.goto(console_url(server.url) + f"#/deployments/{model_id}/test")
        text, extra = TASK_TEXTS[task]
        page.get_by_label("Text", exact=True).fill(text)
        if extra:
            page.locator("#test-extra").fill(extra)
        click_action(page, "run-test")
        expect(page.get_by_test_id("took")).to_contain_text("ms")
        result = json.loads(page.get_by_test_id("raw").inner_text())["inference_results"][0]
        shown = page.get_by_test_id("result")
        if task == "ner":
            expect(shown.locator("mark.entity")).to_have_count(len(result["entities"]))
            assert shown.locator(".ner-text").inner_text().replace("\n", "").startswith(text[:3])
        elif task in ("text_classification", "fill_mask"):
            expect(shown.get_by_test_id("predicted")).to_have_text(result["predicted_value"])
            expect(shown.locator(".bars li")).to_have_count(len(result["top_classes"]))
        elif task == "question_answering":
            expect(shown.locator("mark.answer")).to_have_text(text[result["start_offset"]:result["end_offset"]])
            expect(shown.get_by_test_id("predicted")).to_have_text(result["predicted_value"])
        else:
            expect(shown.get_by_test_id("vector-size")).to_have_text(str(len(result["predicted_value"])))
        shot(page, shots, f"20-test-{task}")
    finally:
        es.ml.stop_trained_model_deployment(model_id=model_id)
        es.ml.delete_trained_model(model_id=model_id)


def test_13_no_page_met_a_script_error(errors: BrowserErrors) -> None:
    assert errors.page_errors == []
    unexpected = [message for message in errors.console_errors
                  if "401" not in message and "Failed to load resource" not in message]
    assert unexpected == []
