// An inference result the way a person reads it, per task: the pieces the test page's template draws.

export const TASK_INPUTS = {
  question_answering: { label: "Question", hint: "The model finds the answer to this question in the text." },
  zero_shot_classification: { label: "Labels", hint: "Comma-separated labels to choose between." },
  text_similarity: { label: "Text to compare with", hint: "The model scores how similar the two texts are." },
};

export function taskOf(config) {
  return Object.keys((config && config.inference_config) || {})[0] || "pass_through";
}

// The `_infer` body for one text and the task's extra input.
export function inferBody(config, text, extra) {
  const field = ((config.input || {}).field_names || ["text_field"])[0];
  const task = taskOf(config);
  const body = { docs: [{ [field]: text }] };
  if (task === "question_answering") body.inference_config = { question_answering: { question: extra } };
  if (task === "zero_shot_classification") {
    const labels = extra.split(",").map((label) => label.trim()).filter(Boolean);
    body.inference_config = { zero_shot_classification: { labels } };
  }
  if (task === "text_similarity") body.inference_config = { text_similarity: { text: extra } };
  if (task === "text_classification" || task === "fill_mask") body.inference_config = { [task]: { num_top_classes: 5 } };
  return body;
}

function classes(result) {
  const top = result.top_classes || [];
  return top.map((entry) => ({
    label: entry.class_name,
    probability: entry.class_probability,
    percent: `${Math.max(1, Math.round(entry.class_probability * 100))}%`,
  }));
}

function entities(text, found) {
  const segments = [];
  let at = 0;
  for (const entity of [...found].sort((a, b) => a.start_pos - b.start_pos)) {
    if (entity.start_pos < at) continue;
    if (entity.start_pos > at) segments.push({ text: text.slice(at, entity.start_pos), entity: "" });
    segments.push({
      text: text.slice(entity.start_pos, entity.end_pos),
      entity: entity.class_name,
      probability: entity.class_probability,
    });
    at = entity.end_pos;
  }
  if (at < text.length) segments.push({ text: text.slice(at), entity: "" });
  return segments;
}

function vectorView(values) {
  const flat = Array.isArray(values) ? values.flat(Infinity) : [];
  const norm = Math.sqrt(flat.reduce((sum, value) => sum + value * value, 0));
  return { size: flat.length, first: flat.slice(0, 8).map((value) => value.toFixed(4)).join(", "), norm: norm.toFixed(4) };
}

// {kind, ...} for the template; kind is one of ner, classes, answer, fill, vector, weights, score, raw.
export function present(task, result, text) {
  switch (task) {
    case "ner":
      return { kind: "ner", segments: entities(text, result.entities || []), count: (result.entities || []).length };
    case "text_classification":
    case "zero_shot_classification":
      return { kind: "classes", predicted: result.predicted_value, classes: classes(result) };
    case "fill_mask":
      return {
        kind: "fill",
        predicted: result.predicted_value,
        classes: classes(result),
      };
    case "question_answering": {
      const start = result.start_offset ?? 0;
      const end = result.end_offset ?? 0;
      return {
        kind: "answer",
        answer: result.predicted_value,
        before: text.slice(0, start),
        span: text.slice(start, end),
        after: text.slice(end),
        probability: result.prediction_probability,
      };
    }
    case "text_embedding":
    case "pass_through":
      return { kind: "vector", ...vectorView(result.predicted_value) };
    case "text_expansion": {
      const weights = Object.entries(result.predicted_value || {}).sort((a, b) => b[1] - a[1]).slice(0, 10);
      const top = weights.length ? weights[0][1] : 1;
      return {
        kind: "weights",
        size: Object.keys(result.predicted_value || {}).length,
        classes: weights.map(([label, weight]) => ({ label, probability: weight, percent: `${Math.max(1, Math.round((weight / top) * 100))}%` })),
      };
    }
    case "text_similarity":
      return { kind: "score", score: result.predicted_value };
    default:
      return { kind: "raw" };
  }
}
