// What the console knows of a model, gathered from the REST API: its config, builds and deployments.

import { get, path } from "./api.js";
import { taskOf } from "./results.js";
import { tone } from "./format.js";

export async function loadBuilds(modelId, options) {
  return get(path("/_inferd/models/{model_id}/builds", { model_id: modelId }), options);
}

export async function loadDeployments(options) {
  return (await get("/_inferd/deployments", options)).deployments;
}

// The state a person reads: the default build's upload state, then what its deployments do.
export function modelState(builds, deployments) {
  const current = (builds.builds || []).find((build) => build.default) || (builds.builds || [])[0];
  const running = deployments.filter((deployment) => deployment.lifecycle !== "stopped");
  const failed = running.find((deployment) => deployment.lifecycle === "failed");
  if (failed) return { label: "Failed", tone: "bad", reason: `deployment ${failed.deployment_id} failed` };
  if (running.some((deployment) => deployment.lifecycle === "deploying")) return { label: "Deploying", tone: "busy", reason: "" };
  if (running.some((deployment) => deployment.lifecycle === "stopping")) return { label: "Stopping", tone: "busy", reason: "" };
  if (running.length) return { label: "Deployed", tone: "ok", reason: "" };
  if (!current) return { label: "No build", tone: "warn", reason: "" };
  if (current.state === "failed") return { label: "Failed", tone: "bad", reason: current.failure_reason || "" };
  if (current.state === "uploading") return { label: "Uploading", tone: "busy", reason: "definition or vocabulary parts are missing" };
  return { label: "Ready to deploy", tone: "ok", reason: "" };
}

export function chip(deployment) {
  return { id: deployment.deployment_id, lifecycle: deployment.lifecycle, tone: tone(deployment.lifecycle),
           href: `#/deployments/${encodeURIComponent(deployment.deployment_id)}` };
}

export function describeModel(config, builds, deployments) {
  const own = deployments.filter((deployment) => deployment.model_id === config.model_id);
  return {
    id: config.model_id,
    description: config.description || "",
    task: taskOf(config),
    state: modelState(builds, own),
    deployments: own.map(chip),
    running: own.filter((deployment) => deployment.lifecycle !== "stopped"),
    defaultBuild: builds.default_build,
    buildCount: (builds.builds || []).length,
    href: `#/models/${encodeURIComponent(config.model_id)}`,
  };
}

