// The console's screens, addressed by the URL's fragment (`#/models/my-model`): the server serves one page.

const ROUTES = [
  ["models", /^\/models$/],
  ["model", /^\/models\/([^/]+)$/, ["modelId"]],
  ["deploy", /^\/models\/([^/]+)\/deploy$/, ["modelId"]],
  ["newBuild", /^\/models\/([^/]+)\/builds\/new$/, ["modelId"]],
  ["test", /^\/models\/([^/]+)\/test$/, ["modelId"]],
  ["deployments", /^\/deployments$/],
  ["deployment", /^\/deployments\/([^/]+)$/, ["deploymentId"]],
  ["update", /^\/deployments\/([^/]+)\/update$/, ["deploymentId"]],
  ["redeploy", /^\/deployments\/([^/]+)\/redeploy$/, ["deploymentId"]],
  ["test", /^\/deployments\/([^/]+)\/test$/, ["deploymentId"]],
  ["nodes", /^\/nodes$/],
];

let counter = 0;
let current = parse("");

export function parse(hash) {
  const [where, search = ""] = hash.replace(/^#/, "").split("?");
  const target = where || "/models";
  counter += 1;
  for (const [view, pattern, names = []] of ROUTES) {
    const match = pattern.exec(target);
    if (match) {
      const params = Object.fromEntries(names.map((name, index) => [name, decodeURIComponent(match[index + 1])]));
      return { view, params, query: Object.fromEntries(new URLSearchParams(search)), key: `${counter}:${hash}` };
    }
  }
  return { view: "notFound", params: {}, query: {}, key: `${counter}:${hash}` };
}

export function update(hash) {
  current = parse(hash);
  return current;
}

// The route the page being drawn belongs to: page components read their parameters here when they start.
export function route() {
  return current;
}

export function href(...parts) {
  return "#/" + parts.map((part) => encodeURIComponent(part)).join("/");
}

export function go(...parts) {
  window.location.hash = href(...parts).slice(1);
}
