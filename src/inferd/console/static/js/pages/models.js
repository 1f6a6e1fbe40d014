// The models list: search, task filter, each model's state, deployments as chips, default build; Add model (an
// upload from the browser with the chunked protocol, or the `inferd import` command); delete with confirmation.

import { del, get, path, put } from "../api.js";
import { describeModel, loadBuilds, loadDeployments } from "../models.js";
import { readJson, uploadDefinition } from "../upload.js";
import { reloadingPage } from "../live.js";
import { act, ask, toast } from "../ui.js";
import * as format from "../format.js";
import { can } from "../actions.js";

const MODEL_ID = /^[a-z0-9](?:[a-z0-9_\-.]*[a-z0-9])?$/;

export function modelsPage() {
  return {
    ...reloadingPage(),
    models: [],
    search: "",
    task: "",
    totals: { models: 0, deployments: 0, processorsUsed: 0, processors: 0, nodes: 0 },
    adding: false,
    addTab: "upload",
    upload: { modelId: "", busy: false, percent: 0, message: "", error: "", done: "" },

    async refresh(options) {
      const [configs, deployments, nodes] = await Promise.all([
        get("/_ml/trained_models", { query: { size: 10000 }, ...options }),
        loadDeployments(options),
        get("/_inferd/nodes", options),
      ]);
      const builds = await Promise.all(configs.trained_model_configs.map((config) => loadBuilds(config.model_id, options)));
      this.models = configs.trained_model_configs.map((config, index) => describeModel(config, builds[index], deployments));
      const running = deployments.filter((deployment) => deployment.lifecycle !== "stopped");
      this.totals = {
        models: this.models.length,
        deployments: running.length,
        processorsUsed: running.reduce((sum, d) => sum + d.routes.reduce((s, r) => s + r.allocations, 0) * d.settings.threads_per_allocation, 0),
        processors: nodes.nodes.reduce((sum, node) => sum + node.processors, 0),
        nodes: nodes.nodes.length,
      };
    },

    get tasks() {
      return [...new Set(this.models.map((model) => model.task))].sort();
    },

    get shown() {
      const search = this.search.trim().toLowerCase();
      return this.models.filter((model) => (!this.task || model.task === this.task)
        && (!search || model.id.includes(search) || model.description.toLowerCase().includes(search)));
    },

    get noneShown() {
      return !this.loading && !this.error && this.shown.length === 0;
    },

    openAdd() {
      if (!can("addModel")) return;
      this.upload = { modelId: "", busy: false, percent: 0, message: "", error: "", done: "" };
      this.adding = true;
      this.$nextTick(() => this.$refs.addDialog.showModal());
    },

    closeAdd() {
      if (this.upload.busy) return;
      this.$refs.addDialog.close();
      this.adding = false;
    },

    chooseTab(tab) {
      this.addTab = tab;
    },

    tabSelected(tab) {
      return this.addTab === tab ? "true" : "false";
    },

    importCommand() {
      const id = this.upload.modelId || "my-model";
      return `INFERD_API_KEY=<your API key> inferd import --url ${window.location.origin} --hub-model-id /path/to/hf-model --model-id ${id} --start`;
    },

    async copy(text) {
      try {
        await navigator.clipboard.writeText(text);
        toast("Copied to the clipboard.", "ok");
      } catch {
        toast("The browser refused the clipboard: select the text and copy it.", "bad");
      }
    },

    progressWidth() {
      return { width: `${this.upload.percent}%` };
    },

    async submitUpload() {
      const upload = this.upload;
      const modelId = upload.modelId.trim();
      const definition = this.$refs.definitionFile.files[0];
      const configFile = this.$refs.configFile.files[0];
      const vocabularyFile = this.$refs.vocabularyFile.files[0];
      upload.error = "";
      if (!MODEL_ID.test(modelId)) {
        upload.error = "A model id is lowercase letters, digits, '-', '_' and '.', starting and ending with a letter or digit.";
        return;
      }
      if (!definition || !configFile || !vocabularyFile) {
        upload.error = "Choose the TorchScript file, its config and its vocabulary.";
        return;
      }
      upload.busy = true;
      try {
        const config = await readJson(configFile, "The config");
        const vocabulary = await readJson(vocabularyFile, "The vocabulary");
        upload.message = "Creating the model…";
        await put(path("/_ml/trained_models/{model_id}", { model_id: modelId }), config);
        await uploadDefinition(definition, "/_ml/trained_models/{model_id}/definition/{part}", { model_id: modelId }, (p) => {
          upload.percent = Math.round((p.sentBytes / p.totalBytes) * 100);
          upload.message = `Uploaded part ${p.part} of ${p.totalParts} (${format.bytes(p.sentBytes)} of ${format.bytes(p.totalBytes)})`;
        });
        upload.message = "Uploading the vocabulary and checking the definition…";
        await put(path("/_ml/trained_models/{model_id}/vocabulary", { model_id: modelId }), vocabulary);
        upload.percent = 100;
        upload.message = `Model ${modelId} is uploaded.`;
        upload.done = modelId;
        toast(`Model ${modelId} uploaded.`, "ok");
        this.load();
      } catch (error) {
        upload.error = error.message;
      } finally {
        upload.busy = false;
      }
    },

    deployHref() {
      return `#/models/${encodeURIComponent(this.upload.done)}/deploy`;
    },

    async remove(model) {
      if (!can("deleteModel")) return;
      const running = model.running.map((deployment) => deployment.deployment_id);
      const confirmed = await ask({
        title: `Delete model ${model.id}?`,
        message: running.length
          ? `Its deployments (${running.join(", ")}) stop first. Every build of the model is deleted. This cannot be undone.`
          : "Every build of the model is deleted. This cannot be undone.",
        confirmLabel: "Delete model",
        danger: true,
      });
      if (!confirmed) return;
      await act(() => del(path("/_ml/trained_models/{model_id}", { model_id: model.id }), { query: { force: running.length ? "true" : undefined } }),
        `Model ${model.id} deleted.`);
      this.load();
    },
  };
}
