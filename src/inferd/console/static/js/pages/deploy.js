// The start / update / re-deploy form: deployment id, build, allocations and threads (with what they mean on this
// server's processors and nodes), adaptive allocations, priority, queue capacity, cache size; and the API request
// it sends, as curl and as the inferd CLI.

import { get, path, post } from "../api.js";
import { can, whyNot } from "../actions.js";
import { cli, curl } from "../commands.js";
import { loadBuilds, loadDeployments } from "../models.js";
import { route } from "../router.js";
import { toast } from "../ui.js";

const THREADS = [1, 2, 4, 8, 16, 32];
const DEFAULT_QUEUE_CAPACITY = 1024;

function settingsForm(settings) {
  const adaptive = settings.adaptive_allocations;
  return {
    allocations: settings.number_of_allocations,
    threads: settings.threads_per_allocation,
    adaptive: Boolean(adaptive && adaptive.enabled),
    min: adaptive && adaptive.min_number_of_allocations !== undefined ? adaptive.min_number_of_allocations : 0,
    max: adaptive && adaptive.max_number_of_allocations !== undefined ? adaptive.max_number_of_allocations : 4,
    priority: settings.priority,
    queueCapacity: settings.queue_capacity,
    cacheSize: settings.cache_size || "",
  };
}

export function deployPage() {
  const { view, params, query } = route();
  const mode = view === "deploy" ? "start" : view; // start, update or redeploy
  return {
    mode,
    modelId: params.modelId || "",
    deploymentId: params.deploymentId || "",
    loading: true,
    error: "",
    submitError: "",
    busy: false,
    nodes: [],
    deployments: [],
    builds: [],
    defaultBuild: null,
    current: null,
    threadChoices: THREADS,
    showRequest: false,
    requestTab: "curl",
    form: {
      deploymentId: "", build: query.build ? Number(query.build) : null, allocations: 1, threads: 1, adaptive: false,
      min: 0, max: 4, priority: "normal", queueCapacity: DEFAULT_QUEUE_CAPACITY, cacheSize: "", allowDowntime: false,
      makeDefault: true,
    },

    async init() {
      try {
        const [nodes, deployments] = await Promise.all([get("/_inferd/nodes"), loadDeployments()]);
        this.nodes = nodes.nodes;
        this.deployments = deployments;
        if (mode !== "start") {
          this.current = deployments.find((d) => d.deployment_id === this.deploymentId);
          if (!this.current) throw new Error(`No deployment [${this.deploymentId}]`);
          this.modelId = this.current.model_id;
          Object.assign(this.form, settingsForm(this.current.settings));
          if (!this.form.build) this.form.build = this.current.build_number;
        }
        const builds = await loadBuilds(this.modelId);
        this.builds = builds.builds.filter((build) => build.state === "ready").map((build) => build.build_number);
        this.defaultBuild = builds.default_build;
        if (!this.form.build) this.form.build = this.defaultBuild;
        if (mode === "start") this.form.deploymentId = this.freeDeploymentId();
        this.error = "";
      } catch (error) {
        this.error = error.message;
      } finally {
        this.loading = false;
      }
    },

    freeDeploymentId() {
      const taken = new Set(this.deployments.map((d) => d.deployment_id));
      if (!taken.has(this.modelId)) return this.modelId;
      for (let n = 2; ; n += 1) if (!taken.has(`${this.modelId}-${n}`)) return `${this.modelId}-${n}`;
    },

    get title() {
      if (mode === "start") return `Start a deployment of ${this.modelId}`;
      if (mode === "update") return `Update deployment ${this.deploymentId}`;
      return `Re-deploy ${this.deploymentId}`;
    },

    get isStart() { return mode === "start"; },
    get isUpdate() { return mode === "update"; },
    get isRedeploy() { return mode === "redeploy"; },
    get resourcesLocked() { return mode === "update"; },
    get showBuild() { return mode !== "update"; },
    get action() { return { start: "start", update: "update", redeploy: "redeploy" }[mode]; },
    get allowed() { return can(this.action); },
    get deniedReason() { return whyNot(this.action); },
    get submitLabel() { return { start: "Start deployment", update: "Update deployment", redeploy: "Re-deploy" }[mode]; },

    get needsDefault() {
      return mode === "start" && this.form.build !== null && this.form.build !== this.defaultBuild;
    },

    get idTaken() {
      return mode === "start" && this.deployments.some((d) => d.deployment_id === this.form.deploymentId.trim());
    },

    get otherDeployments() {
      return this.deployments.filter((d) => d.model_id === this.modelId && d.lifecycle !== "stopped")
        .map((d) => ({ id: d.deployment_id, href: `#/deployments/${encodeURIComponent(d.deployment_id)}/redeploy${this.form.build ? `?build=${this.form.build}` : ""}` }));
    },

    get backHref() {
      return mode === "start" ? `#/models/${encodeURIComponent(this.modelId)}` : `#/deployments/${encodeURIComponent(this.deploymentId)}`;
    },

    // --- what allocations and threads mean here --------------------------------------------------------------
    get capacity() {
      const available = this.nodes.filter((node) => node.available);
      const used = {};
      for (const deployment of this.deployments) {
        if (deployment.lifecycle === "stopped" || deployment.deployment_id === this.deploymentId) continue;
        for (const r of deployment.routes) used[r.node] = (used[r.node] || 0) + r.allocations * deployment.settings.threads_per_allocation;
      }
      return {
        nodes: available.length,
        processors: available.reduce((sum, node) => sum + node.processors, 0),
        largest: Math.max(0, ...available.map((node) => node.processors)),
        free: available.reduce((sum, node) => sum + Math.max(0, node.processors - (used[node.node_id] || 0)), 0),
      };
    },

    get explanation() {
      const { nodes, processors, largest } = this.capacity;
      const threads = Number(this.form.threads);
      const perNode = nodes === 1 ? `1 node of ${processors} processors` : `${nodes} nodes, the largest with ${largest} processors`;
      const each = `Each allocation answers one batch of requests at a time on its own ${threads} thread${threads === 1 ? "" : "s"}: more allocations answer more requests at once (throughput), more threads make each request faster (latency).`;
      if (this.form.adaptive) {
        const min = Number(this.form.min);
        const max = Number(this.form.max);
        const idle = min === 0 ? " With a minimum of 0 it scales to zero when idle: the first request then waits for an allocation to start." : "";
        return `Between ${min} and ${max} allocations as the load needs them, each of ${threads} thread${threads === 1 ? "" : "s"}: up to ${max * threads} of this server's ${processors} processors (${perNode}).${idle} ${each}`;
      }
      const allocations = Number(this.form.allocations);
      return `${allocations} allocation${allocations === 1 ? "" : "s"} × ${threads} thread${threads === 1 ? "" : "s"} = ${allocations * threads} of this server's ${processors} processors (${perNode}). ${each}`;
    },

    get fitWarning() {
      const { largest, free } = this.capacity;
      const threads = Number(this.form.threads);
      const wanted = (this.form.adaptive ? Number(this.form.min) : Number(this.form.allocations)) * threads;
      if (threads > largest) return `No node has ${threads} processors: an allocation's threads must fit on one node, so this deployment cannot start.`;
      if (wanted > free) return `Only ${free} processors are free beside the other deployments: the deployment starts with the allocations that fit (partially allocated).`;
      return "";
    },

    // --- the request ----------------------------------------------------------------------------------------------
    adaptiveBody() {
      return { enabled: true, min_number_of_allocations: Number(this.form.min), max_number_of_allocations: Number(this.form.max) };
    },

    resources() {
      const f = this.form;
      const body = {};
      if (f.adaptive) body.adaptive_allocations = this.adaptiveBody();
      else body.number_of_allocations = Number(f.allocations);
      body.threads_per_allocation = Number(f.threads);
      body.priority = f.priority;
      body.queue_capacity = Number(f.queueCapacity);
      if (String(f.cacheSize).trim()) body.cache_size = String(f.cacheSize).trim();
      return body;
    },

    request() {
      const f = this.form;
      if (mode === "start") {
        return {
          method: "POST", url: path("/_ml/trained_models/{model_id}/deployment/_start", { model_id: this.modelId }),
          body: { deployment_id: f.deploymentId.trim(), ...this.resources(), wait_for: "starting" },
        };
      }
      if (mode === "update") {
        const body = f.adaptive ? { adaptive_allocations: this.adaptiveBody() }
          : { number_of_allocations: Number(f.allocations), ...(this.current.settings.adaptive_allocations ? { adaptive_allocations: { enabled: false } } : {}) };
        return { method: "POST", url: path("/_ml/trained_models/{model_id}/deployment/_update", { model_id: this.deploymentId }), body };
      }
      const before = settingsForm(this.current.settings);
      const after = this.resources();
      const body = {};
      if (Number(f.build) !== this.current.build_number) body.build = Number(f.build);
      if (f.adaptive !== before.adaptive || (f.adaptive && (Number(f.min) !== before.min || Number(f.max) !== before.max))) {
        body.adaptive_allocations = f.adaptive ? this.adaptiveBody() : { enabled: false };
      }
      if (!f.adaptive && Number(f.allocations) !== before.allocations) body.number_of_allocations = after.number_of_allocations;
      if (after.threads_per_allocation !== before.threads) body.threads_per_allocation = after.threads_per_allocation;
      if (after.priority !== before.priority) body.priority = after.priority;
      if (after.queue_capacity !== before.queueCapacity) body.queue_capacity = after.queue_capacity;
      if ((after.cache_size || "") !== (before.cacheSize || "") && after.cache_size) body.cache_size = after.cache_size;
      if (f.allowDowntime) body.allow_downtime = true;
      return { method: "POST", url: path("/_inferd/deployments/{deployment_id}/_redeploy", { deployment_id: this.deploymentId }) + "?wait_for=none", body };
    },

    get ready() {
      return !this.loading && !this.error && (mode === "start" || Boolean(this.current));
    },

    get curlText() {
      if (!this.ready) return "";
      const { method, url, body } = this.request();
      return curl(method, url, body);
    },

    get cliText() {
      if (!this.ready) return "";
      const f = this.form;
      const adaptive = f.adaptive ? { adaptive: true, min: f.min, max: f.max } : {};
      if (mode === "start") {
        return cli(["deployments", "start"], [this.modelId], {
          "deployment-id": f.deploymentId.trim(), allocations: f.adaptive ? null : f.allocations, threads: f.threads,
          "queue-capacity": f.queueCapacity, "cache-size": f.cacheSize || null, priority: f.priority, ...adaptive, "wait-for": "starting",
        });
      }
      if (mode === "update") {
        return cli(["deployments", "update"], [this.deploymentId], f.adaptive ? adaptive : { allocations: f.allocations, "no-adaptive": Boolean(this.current.settings.adaptive_allocations) });
      }
      const body = this.request().body;
      return cli(["deployments", "redeploy"], [this.deploymentId], {
        build: body.build, allocations: body.number_of_allocations, threads: body.threads_per_allocation,
        "queue-capacity": body.queue_capacity, "cache-size": body.cache_size, priority: body.priority,
        ...(body.adaptive_allocations ? (f.adaptive ? adaptive : { "no-adaptive": true }) : {}),
        "allow-downtime": body.allow_downtime, wait: false,
      });
    },

    toggleRequest() { this.showRequest = !this.showRequest; },
    chooseRequestTab(tab) { this.requestTab = tab; },
    requestTabSelected(tab) { return this.requestTab === tab ? "true" : "false"; },
    get requestText() { return this.requestTab === "curl" ? this.curlText : this.cliText; },

    async submit() {
      if (!this.allowed || this.busy) return;
      this.submitError = "";
      if (mode === "start" && this.idTaken) {
        this.submitError = `A deployment with the id [${this.form.deploymentId}] already exists.`;
        return;
      }
      this.busy = true;
      try {
        if (this.needsDefault) {
          if (!this.form.makeDefault) throw new Error(`A new deployment runs the model's default build (#${this.defaultBuild}): tick "Set build ${this.form.build} as the default" or pick the default build.`);
          await post(path("/_inferd/models/{model_id}/builds/{build}/_set_default", { model_id: this.modelId, build: this.form.build }));
        }
        const { url, body } = this.request();
        const target = mode === "start" ? this.form.deploymentId.trim() : this.deploymentId;
        await post(url, body);
        toast({
          start: `Deployment ${target} is starting.`,
          update: `Deployment ${target} updated.`,
          redeploy: `Deployment ${target} is rolling out.`,
        }[mode], "ok");
        window.location.hash = `#/deployments/${encodeURIComponent(target)}`;
      } catch (error) {
        this.submitError = error.message;
      } finally {
        this.busy = false;
      }
    },
  };
}
