// A model's overview (details, config, deployments, builds with Deploy this build / Set as default / Delete) and
// Deploy New Build (upload the next build's files with the chunked protocol, then deploy it).

import { del, get, path, post, put } from "../api.js";
import { chip, loadBuilds, loadDeployments, modelState } from "../models.js";
import { reloadingPage } from "../live.js";
import { taskOf } from "../results.js";
import { route } from "../router.js";
import { act, ask, toast } from "../ui.js";
import { readJson, uploadDefinition } from "../upload.js";
import * as format from "../format.js";
import { can, whyNot } from "../actions.js";

export function modelPage() {
  return {
    ...reloadingPage(),
    modelId: route().params.modelId,
    config: null,
    size: null,
    builds: [],
    defaultBuild: null,
    deployments: [],
    state: { label: "", tone: "", reason: "" },

    async refresh(options) {
      const id = { model_id: this.modelId };
      const [configs, stats, builds, deployments] = await Promise.all([
        get(path("/_ml/trained_models/{model_id}", id), options),
        get(path("/_ml/trained_models/{model_id}/_stats", id), options),
        loadBuilds(this.modelId, options),
        loadDeployments(options),
      ]);
      this.config = configs.trained_model_configs[0];
      this.size = stats.trained_model_stats[0].model_size_stats;
      this.builds = builds.builds;
      this.defaultBuild = builds.default_build;
      this.deployments = deployments.filter((deployment) => deployment.model_id === this.modelId);
      this.state = modelState(builds, this.deployments);
    },

    get task() {
      return this.config ? taskOf(this.config) : "";
    },

    get details() {
      if (!this.config) return [];
      const config = this.config;
      const fmt = format;
      return [
        ["Task", this.task],
        ["Description", config.description || "–"],
        ["Created", fmt.time(config.create_time)],
        ["Default build", `#${this.defaultBuild}`],
        ["Definition SHA-256", (config.inferd || {}).definition_sha256 || "–"],
        ["Model size", fmt.bytes(this.size.model_size_bytes)],
        ["Memory needed to deploy", fmt.bytes(this.size.required_native_memory_bytes)],
        ["Input field", ((config.input || {}).field_names || []).join(", ")],
        ["Tags", (config.tags || []).join(", ") || "–"],
        ["Aliases", ((config.metadata || {}).model_aliases || []).join(", ") || "–"],
      ];
    },

    get configText() {
      return this.config ? JSON.stringify(this.config.inference_config, null, 2) : "";
    },

    get deploymentRows() {
      return this.deployments.map((deployment) => ({
        ...chip(deployment),
        build: deployment.build_number,
        allocations: `${format.count(deployment.settings.number_of_allocations, "allocation")} × ${format.count(deployment.settings.threads_per_allocation, "thread")}`,
      }));
    },

    get running() {
      return this.deployments.filter((deployment) => deployment.lifecycle !== "stopped");
    },

    get buildRows() {
      return this.builds.map((build) => ({
        number: build.build_number,
        created: format.time(build.create_time),
        comment: build.comment || "",
        sha: build.definition_sha256 || "",
        shortSha: format.short(build.definition_sha256, 12),
        state: build.state,
        tone: format.tone(build.state),
        reason: build.failure_reason || "",
        isDefault: build.default,
        ready: build.state === "ready",
        deployments: build.deployments.map((d) => d.deployment_id).join(", ") || "–",
        inUse: build.deployments.length > 0,
      }));
    },

    deployHref(build) {
      return `#/models/${encodeURIComponent(this.modelId)}/deploy?build=${build.number}`;
    },

    get newBuildHref() {
      return `#/models/${encodeURIComponent(this.modelId)}/builds/new`;
    },

    get startHref() {
      return `#/models/${encodeURIComponent(this.modelId)}/deploy`;
    },

    get testHref() {
      return `#/models/${encodeURIComponent(this.modelId)}/test`;
    },

    async setDefault(build) {
      if (!can("setDefault") || !build.ready) return;
      await act(() => post(path("/_inferd/models/{model_id}/builds/{build}/_set_default",
        { model_id: this.modelId, build: build.number })), `Build ${build.number} is the default now.`);
      this.load();
    },

    async deleteBuild(build) {
      if (!can("deleteBuild") || build.inUse) return;
      const confirmed = await ask({
        title: `Delete build ${build.number} of ${this.modelId}?`,
        message: "Its definition and vocabulary are deleted. This cannot be undone.",
        confirmLabel: "Delete build", danger: true,
      });
      if (!confirmed) return;
      await act(() => del(path("/_inferd/models/{model_id}/builds/{build}", { model_id: this.modelId, build: build.number })),
        `Build ${build.number} deleted.`);
      this.load();
    },

    deleteBuildReason(build) {
      if (!can("deleteBuild")) return whyNot("deleteBuild");
      return build.inUse ? `deployments run this build: ${build.deployments}` : "";
    },

    setDefaultReason(build) {
      if (!can("setDefault")) return whyNot("setDefault");
      return build.ready ? "" : `build ${build.number} is ${build.state}: only a ready build can be the default`;
    },

    async deleteModel() {
      if (!can("deleteModel")) return;
      const running = this.running.map((deployment) => deployment.deployment_id);
      const confirmed = await ask({
        title: `Delete model ${this.modelId}?`,
        message: running.length ? `Its deployments (${running.join(", ")}) stop first. Every build is deleted.` : "Every build is deleted.",
        confirmLabel: "Delete model", danger: true,
      });
      if (!confirmed) return;
      const done = await act(() => del(path("/_ml/trained_models/{model_id}", { model_id: this.modelId }),
        { query: { force: running.length ? "true" : undefined } }), `Model ${this.modelId} deleted.`);
      if (done) window.location.hash = "#/models";
    },
  };
}

export function newBuildPage() {
  const { params, query } = route();
  return {
    modelId: params.modelId,
    deploymentId: query.deployment || "",
    comment: "",
    busy: false,
    percent: 0,
    message: "",
    error: "",
    created: null,
    running: [],

    async init() {
      try {
        const deployments = await loadDeployments();
        this.running = deployments.filter((d) => d.model_id === this.modelId && d.lifecycle !== "stopped");
        if (!this.deploymentId && this.running.length) this.deploymentId = this.running[0].deployment_id;
      } catch (error) {
        this.error = error.message;
      }
    },

    progressWidth() {
      return { width: `${this.percent}%` };
    },

    get modelHref() {
      return `#/models/${encodeURIComponent(this.modelId)}`;
    },

    deployHref() {
      if (!this.created) return "#";
      if (this.deploymentId) return `#/deployments/${encodeURIComponent(this.deploymentId)}/redeploy?build=${this.created}`;
      return `#/models/${encodeURIComponent(this.modelId)}/deploy?build=${this.created}`;
    },

    async submit() {
      if (!can("newBuild")) return;
      const definition = this.$refs.definitionFile.files[0];
      const vocabularyFile = this.$refs.vocabularyFile.files[0];
      const configFile = this.$refs.configFile.files[0];
      this.error = "";
      if (!definition || !vocabularyFile) {
        this.error = "Choose the TorchScript file and its vocabulary.";
        return;
      }
      this.busy = true;
      try {
        const vocabulary = await readJson(vocabularyFile, "The vocabulary");
        const body = {};
        if (this.comment.trim()) body.comment = this.comment.trim();
        if (configFile) body.inference_config = (await readJson(configFile, "The config")).inference_config;
        this.message = "Creating the build…";
        const build = await put(path("/_inferd/models/{model_id}/builds", { model_id: this.modelId }), body);
        const values = { model_id: this.modelId, build: build.build_number };
        await uploadDefinition(definition, "/_inferd/models/{model_id}/builds/{build}/definition/{part}", values, (p) => {
          this.percent = Math.round((p.sentBytes / p.totalBytes) * 100);
          this.message = `Uploaded part ${p.part} of ${p.totalParts} (${format.bytes(p.sentBytes)} of ${format.bytes(p.totalBytes)})`;
        });
        this.message = "Uploading the vocabulary and checking the definition…";
        await put(path("/_inferd/models/{model_id}/builds/{build}/vocabulary", values), vocabulary);
        const stored = await get(path("/_inferd/models/{model_id}/builds/{build}", values));
        if (stored.state === "failed") throw new Error(`Build ${stored.build_number} failed: ${stored.failure_reason}`);
        this.created = build.build_number;
        this.message = `Build ${build.build_number} is ${stored.state}.`;
        toast(`Build ${build.build_number} of ${this.modelId} uploaded.`, "ok");
      } catch (error) {
        this.error = error.message;
      } finally {
        this.busy = false;
      }
    },
  };
}
