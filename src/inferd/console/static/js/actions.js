// The REST routes behind the console's buttons, named once: the session answer says, for every route, whether the
// signed-in credentials may call it and, if not, why (Elasticsearch's own 403 reason).

export const ACTIONS = {
  addModel: "PUT /_ml/trained_models/{model_id}",
  deleteModel: "DELETE /_ml/trained_models/{model_id}",
  start: "POST /_ml/trained_models/{model_id}/deployment/_start",
  update: "POST /_ml/trained_models/{model_id}/deployment/_update",
  infer: "POST /_ml/trained_models/{model_id}/_infer",
  newBuild: "PUT /_inferd/models/{model_id}/builds",
  setDefault: "POST /_inferd/models/{model_id}/builds/{build}/_set_default",
  deleteBuild: "DELETE /_inferd/models/{model_id}/builds/{build}",
  redeploy: "POST /_inferd/deployments/{deployment_id}/_redeploy",
  rollback: "POST /_inferd/deployments/{deployment_id}/_rollback",
  restart: "POST /_inferd/deployments/{deployment_id}/_restart",
  stop: "POST /_inferd/deployments/{deployment_id}/_stop",
  startAgain: "POST /_inferd/deployments/{deployment_id}/_start",
  workers: "GET /_inferd/deployments/{deployment_id}/workers",
  live: "GET /_inferd/console/live",
  models: "GET /_ml/trained_models",
  nodes: "GET /_inferd/nodes",
};

let privileges = {};

export function setPrivileges(table) {
  privileges = table || {};
}

export function can(action) {
  const entry = privileges[ACTIONS[action] || action];
  return Boolean(entry && entry.allowed);
}

export function whyNot(action) {
  const entry = privileges[ACTIONS[action] || action];
  if (!entry) return "this server has no such action";
  return entry.allowed ? "" : entry.reason;
}
