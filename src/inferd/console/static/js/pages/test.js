// Test a model: a text (and the task's extra input), the result drawn the way a person reads it, the raw JSON and
// the time the request took.

import { get, path, post } from "../api.js";
import { can, whyNot } from "../actions.js";
import * as format from "../format.js";
import { loadDeployments } from "../models.js";
import { TASK_INPUTS, inferBody, present, taskOf } from "../results.js";
import { route } from "../router.js";

const SAMPLES = {
  ner: "Jim Henson was a puppeteer in New York City",
  fill_mask: "The [MASK] is a big city",
  question_answering: "Jim Henson was a puppeteer who lived in New York City",
  zero_shot_classification: "I love this new search engine",
  text_similarity: "The cat runs in the house",
};
const EXTRAS = {
  question_answering: "Where did Jim Henson live?",
  zero_shot_classification: "music, search, life",
  text_similarity: "A dog walks in the house",
};

export function testPage() {
  const { params } = route();
  return {
    modelId: params.modelId || "",
    target: params.deploymentId || "",
    choices: [],
    config: null,
    text: "",
    extra: "",
    loading: true,
    error: "",
    busy: false,
    runError: "",
    result: null,
    raw: "",
    tookMs: null,

    async init() {
      try {
        if (this.target) {
          const view = await get(path("/_inferd/deployments/{deployment_id}", { deployment_id: this.target }));
          this.modelId = view.model_id;
        }
        const [configs, deployments] = await Promise.all([
          get(path("/_ml/trained_models/{model_id}", { model_id: this.modelId })), loadDeployments(),
        ]);
        this.config = configs.trained_model_configs[0];
        this.choices = deployments.filter((d) => d.model_id === this.modelId && d.lifecycle !== "stopped").map((d) => d.deployment_id);
        if (!this.target && this.choices.length) this.target = this.choices[0];
        this.text = SAMPLES[this.task] || "hello world, this is a test";
        this.extra = EXTRAS[this.task] || "";
      } catch (error) {
        this.error = error.message;
      } finally {
        this.loading = false;
      }
    },

    get task() { return this.config ? taskOf(this.config) : ""; },
    get extraInput() { return TASK_INPUTS[this.task] || null; },
    get extraLabel() { return this.extraInput ? this.extraInput.label : ""; },
    get extraHint() { return this.extraInput ? this.extraInput.hint : ""; },
    get noDeployment() { return !this.loading && !this.error && this.choices.length === 0 && !this.target; },
    get startHref() { return `#/models/${encodeURIComponent(this.modelId)}/deploy`; },
    get modelHref() { return `#/models/${encodeURIComponent(this.modelId)}`; },
    get denied() { return can("infer") ? "" : whyNot("infer"); },
    get took() { return this.tookMs === null ? "" : `${format.number(this.tookMs, 1)} ms`; },
    is(kind) { return Boolean(this.result) && this.result.kind === kind; },
    entityClass(segment) { return `entity ${segment.entity.replace(/^[BI]-/, "")}`; },
    barWidth(entry) { return { width: entry.percent }; },
    probability(value) { return format.percent(value); },

    async run() {
      if (this.denied || this.busy || !this.target) return;
      this.busy = true;
      this.runError = "";
      const text = this.text;
      const started = performance.now();
      try {
        const answer = await post(path("/_ml/trained_models/{model_id}/_infer", { model_id: this.target }),
          inferBody(this.config, text, this.extra));
        this.tookMs = performance.now() - started;
        this.raw = JSON.stringify(answer, null, 2);
        this.result = present(this.task, answer.inference_results[0], text);
      } catch (error) {
        this.tookMs = performance.now() - started;
        this.result = null;
        this.raw = error.body ? JSON.stringify(error.body, null, 2) : "";
        this.runError = error.message;
      } finally {
        this.busy = false;
      }
    },
  };
}
