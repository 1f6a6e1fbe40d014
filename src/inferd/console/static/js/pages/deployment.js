// A deployment's page: lifecycle and Elasticsearch state, build and resources, each node's route (build, role,
// allocations, the worker's pid), the actions (Update, Re-deploy, Deploy new build, Roll back with the
// before/after diff, Restart, Stop, Start again, Test), a rollout's stages as they happen, live charts, the
// history and the adaptive scaler's events. And the list of every deployment.

import { get, path, post } from "../api.js";
import { can, whyNot } from "../actions.js";
import { DeploymentCharts } from "../charts.js";
import * as format from "../format.js";
import { history as liveHistory, onDeploymentsChange, reloadingPage, subscribe } from "../live.js";
import { loadDeployments } from "../models.js";
import { route } from "../router.js";
import { act, ask } from "../ui.js";

const STAGES = ["starting", "verifying", "draining", "done"];
const SETTINGS = [
  ["number_of_allocations", "Allocations"],
  ["threads_per_allocation", "Threads per allocation"],
  ["adaptive_allocations", "Adaptive allocations"],
  ["priority", "Priority"],
  ["queue_capacity", "Queue capacity"],
  ["cache_size", "Cache size"],
];

function show(value) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "object") {
    if ("enabled" in value) return value.enabled ? `on, ${value.min_number_of_allocations ?? 0} to ${value.max_number_of_allocations ?? "∞"}` : "off";
    return JSON.stringify(value);
  }
  return String(value);
}

// The build and settings `_rollback` goes to (the server's rule): the newest successful history entry that left
// the deployment on another build than the one it runs.
export function rollbackTarget(entries, currentBuild) {
  return entries.find((entry) => entry.outcome === "succeeded" && entry.build_after !== null
    && entry.settings_after && entry.build_after !== currentBuild) || null;
}

export function deploymentPage() {
  const deploymentId = route().params.deploymentId;
  let charts = null;
  return {
    ...reloadingPage(),  // its own init and destroy below: the charts follow the live feed too
    deploymentId,
    view: null,
    entries: [],
    events: [],
    workers: {},
    latest: null,
    busy: false,

    init() {
      this.load();
      this.$nextTick(() => {
        charts = new DeploymentCharts(this.$refs.charts);
        charts.update(liveHistory(deploymentId));
      });
      this.unsubscribe = [
        subscribe((sample) => {
          this.latest = sample.deployments.find((d) => d.deployment_id === deploymentId) || null;
          if (charts) charts.update(liveHistory(deploymentId));
        }),
        onDeploymentsChange(() => this.load(true)),
      ];
    },

    destroy() {
      for (const unsubscribe of this.unsubscribe || []) unsubscribe();
      if (charts) charts.destroy();
      charts = null;
    },

    async refresh(options) {
      const id = { deployment_id: deploymentId };
      const [view, history] = await Promise.all([
        get(path("/_inferd/deployments/{deployment_id}", id), options),
        get(path("/_inferd/deployments/{deployment_id}/history", id), options),
      ]);
      this.view = view;
      this.entries = history.history;
      if (view.lifecycle !== "stopped") {
        const [events, workers] = await Promise.all([
          get(path("/_inferd/deployments/{deployment_id}/events", id), options).catch(() => ({ events: [] })),
          can("workers") ? get(path("/_inferd/deployments/{deployment_id}/workers", id), options).catch(() => ({ workers: [] })) : { workers: [] },
        ]);
        this.events = events.events;
        this.workers = Object.fromEntries(workers.workers.map((worker) => [worker.node, worker]));
      } else {
        this.events = [];
        this.workers = {};
      }
    },

    get stopped() { return Boolean(this.view) && this.view.lifecycle === "stopped"; },
    get running() { return Boolean(this.view) && this.view.lifecycle !== "stopped"; },
    get lifecycleTone() { return this.view ? format.tone(this.view.lifecycle) : ""; },
    get stateTone() { return this.view ? format.tone(this.view.state) : ""; },
    get modelHref() { return this.view ? `#/models/${encodeURIComponent(this.view.model_id)}` : "#/models"; },
    get updateHref() { return `#/deployments/${encodeURIComponent(deploymentId)}/update`; },
    get redeployHref() { return `#/deployments/${encodeURIComponent(deploymentId)}/redeploy`; },
    get testHref() { return `#/deployments/${encodeURIComponent(deploymentId)}/test`; },
    get newBuildHref() {
      return this.view ? `#/models/${encodeURIComponent(this.view.model_id)}/builds/new?deployment=${encodeURIComponent(deploymentId)}` : "#";
    },
    get rollingOut() { return Boolean(this.view && this.view.rollout && this.view.rollout.outcome === "in_progress"); },

    get settingsRows() {
      if (!this.view) return [];
      return SETTINGS.map(([name, label]) => ({ label, value: show(this.view.settings[name]) }));
    },

    get routeRows() {
      if (!this.view) return [];
      return this.view.routes.map((r) => {
        const worker = this.workers[r.node] || {};
        return {
          key: `${r.node}:${r.role}:${r.build_number}`, node: r.node, build: r.build_number, role: r.role,
          state: r.routing_state, tone: format.tone(r.routing_state), allocations: r.allocations,
          pid: r.role === "serving" && worker.pid ? worker.pid : "–",
          loads: r.role === "serving" && worker.load_count !== undefined ? worker.load_count : "–",
          reason: r.reason || "",
        };
      });
    },

    get rollout() {
      if (!this.view || !this.view.rollout) return null;
      const rollout = this.view.rollout;
      const at = STAGES.indexOf(rollout.stage);
      return {
        title: `${rollout.action}: build ${rollout.from.build_number} → ${rollout.to.build_number}`,
        outcome: rollout.outcome, tone: format.tone(rollout.outcome), reason: rollout.reason || "",
        started: format.time(rollout.start_time), gap: rollout.gap,
        stages: STAGES.map((stage, index) => {
          let state = "";
          if (rollout.outcome === "failed" && index === at) state = "failed";
          else if (index < at || (rollout.outcome === "succeeded" && index === at && stage === "done")) state = "done";
          else if (index === at) state = rollout.outcome === "succeeded" ? "current" : "current";
          return { name: stage, state, current: index === at ? "step" : null };
        }),
      };
    },

    get liveNodes() {
      return this.latest ? this.latest.nodes.map((n) => ({ ...n, key: `${n.node}:${n.role}:${n.build_number}` })) : [];
    },

    get liveNow() {
      const l = this.latest;
      if (!l) return { requests: "–", latency: "–", queue: "–", allocations: "–", cache: "–" };
      return {
        requests: `${format.number(l.requests_per_s.answered)} answered/s, ${format.number(l.requests_per_s.error + l.requests_per_s.rejected + l.requests_per_s.timeout)} failed/s`,
        latency: `p50 ${format.milliseconds(l.latency_ms.p50)}, p95 ${format.milliseconds(l.latency_ms.p95)}, p99 ${format.milliseconds(l.latency_ms.p99)}`,
        queue: `${format.count(l.queued_documents, "document")} queued`,
        allocations: `${l.allocations} serving of ${l.target_allocations} asked for`,
        cache: `${format.percent(l.cache_hit_rate)} of documents from the cache`,
      };
    },

    get historyRows() {
      return this.entries.map((entry) => ({
        id: entry.id, time: format.time(entry.time), action: entry.action, actor: entry.actor,
        builds: this.buildChange(entry),
        allocations: this.allocationChange(entry),
        outcome: entry.outcome, tone: format.tone(entry.outcome), reason: entry.reason || "",
      }));
    },

    buildChange(entry) {
      return this.change(entry.build_before === null ? null : `#${entry.build_before}`,
        entry.build_after === null ? null : `#${entry.build_after}`);
    },

    allocationChange(entry) {
      return this.change(entry.settings_before ? entry.settings_before.number_of_allocations : null,
        entry.settings_after ? entry.settings_after.number_of_allocations : null);
    },

    // "before → after", or one of them when the other is missing or the same ("–" for after a stop).
    change(before, after) {
      if (before === null || before === undefined) return after === null || after === undefined ? "–" : String(after);
      if (after === null || after === undefined) return `${before} → –`;
      return before === after ? String(after) : `${before} → ${after}`;
    },

    get eventRows() {
      return this.events.map((event, index) => ({
        key: `${event.timestamp}:${index}`, time: format.time(event.timestamp), action: event.action, allocations: event.allocations,
        reason: event.error || event.rule || "",
        load: event.inputs ? `needed ${event.inputs.needed_allocations}, ${format.number(event.inputs.request_rate_per_s ? event.inputs.request_rate_per_s.value : null, 2)} requests/s` : "",
      }));
    },

    // --- actions ---------------------------------------------------------------------------------------------------
    get target() {
      return this.view ? rollbackTarget(this.entries, this.view.build_number) : null;
    },

    denied(action) {
      if (!can(action)) return whyNot(action);
      if (this.busy) return "an action is in progress";
      if (["update", "redeploy", "rollback", "restart", "stop"].includes(action) && this.stopped) return "the deployment is stopped";
      if (["redeploy", "rollback", "restart"].includes(action) && this.rollingOut) return "a rollout is in progress";
      if (action === "startAgain" && !this.stopped) return "the deployment runs";
      if (action === "rollback" && !this.target) return "no earlier build has served this deployment";
      if (action === "infer" && this.stopped) return "the deployment is stopped";
      return "";
    },

    isDenied(action) { return this.denied(action) ? "true" : "false"; },

    go(action, href) {
      if (!this.denied(action)) window.location.hash = href;
    },

    async run(action, url, body, message) {
      this.busy = true;
      await act(() => post(url, body), message);
      this.busy = false;
      this.load();
    },

    async stop() {
      if (this.denied("stop")) return;
      const confirmed = await ask({
        title: `Stop deployment ${deploymentId}?`,
        message: "Requests it holds are answered, new ones are refused, and its workers stop. It stays here with its history: Start again brings it back with the same build and settings.",
        confirmLabel: "OK", danger: true,
      });
      if (confirmed) await this.run("stop", path("/_inferd/deployments/{deployment_id}/_stop", { deployment_id: deploymentId }), undefined, `Deployment ${deploymentId} stopped.`);
    },

    async restart() {
      if (this.denied("restart")) return;
      const confirmed = await ask({
        title: `Restart deployment ${deploymentId}?`,
        message: "New workers start beside the old ones with the same build and resources, take the traffic, and the old ones drain: no request is dropped.",
        confirmLabel: "Restart",
      });
      if (confirmed) await this.run("restart", path("/_inferd/deployments/{deployment_id}/_restart", { deployment_id: deploymentId }) + "?wait_for=none", {}, `Deployment ${deploymentId} is restarting.`);
    },

    async rollback() {
      if (this.denied("rollback")) return;
      const target = this.target;
      const rows = [{ label: "Build", before: `#${this.view.build_number}`, after: `#${target.build_after}`, changed: true }];
      for (const [name, label] of SETTINGS) {
        const before = show(this.view.settings[name]);
        const after = show(target.settings_after[name]);
        rows.push({ label, before, after, changed: before !== after });
      }
      const confirmed = await ask({
        title: `Roll back ${deploymentId} to build ${target.build_after}?`,
        message: `Build ${target.build_after} served from ${format.time(target.time)}. Its workers start beside the current ones, take the traffic, and the current ones drain.`,
        rows, confirmLabel: "Roll back",
      });
      if (confirmed) await this.run("rollback", path("/_inferd/deployments/{deployment_id}/_rollback", { deployment_id: deploymentId }) + "?wait_for=none", { build: target.build_after }, `Deployment ${deploymentId} is rolling back to build ${target.build_after}.`);
    },

    async startAgain() {
      if (this.denied("startAgain")) return;
      await this.run("startAgain", path("/_inferd/deployments/{deployment_id}/_start", { deployment_id: deploymentId }) + "?wait_for=starting", undefined, `Deployment ${deploymentId} is starting again.`);
    },
  };
}

export function deploymentsPage() {
  return {
    ...reloadingPage(),
    rows: [],

    async refresh(options) {
      this.rows = (await loadDeployments(options)).map((d) => ({
        id: d.deployment_id, href: `#/deployments/${encodeURIComponent(d.deployment_id)}`,
        model: d.model_id, modelHref: `#/models/${encodeURIComponent(d.model_id)}`,
        lifecycle: d.lifecycle, tone: format.tone(d.lifecycle), state: d.state, build: d.build_number,
        allocations: `${d.routes.filter((r) => r.role === "serving").reduce((sum, r) => sum + r.allocations, 0)} / ${d.settings.number_of_allocations}`,
        threads: d.settings.threads_per_allocation,
        nodes: [...new Set(d.routes.map((r) => r.node))].join(", ") || "–",
        rollout: d.rollout && d.rollout.outcome === "in_progress" ? `${d.rollout.action}: ${d.rollout.stage}` : "",
      }));
    },

    get empty() { return !this.loading && !this.error && this.rows.length === 0; },
  };
}
