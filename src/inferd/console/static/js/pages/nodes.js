// The nodes: each one's processors and memory, the allocations placed there, and the processors left.

import { get } from "../api.js";
import * as format from "../format.js";
import { reloadingPage } from "../live.js";
import { loadDeployments } from "../models.js";

export function nodesPage() {
  return {
    ...reloadingPage(),
    nodes: [],

    async refresh(options) {
      const [nodes, deployments] = await Promise.all([get("/_inferd/nodes", options), loadDeployments(options)]);
      const threads = Object.fromEntries(deployments.map((d) => [d.deployment_id, d.settings.threads_per_allocation]));
      this.nodes = nodes.nodes.map((node) => {
        const placed = Object.entries(node.allocations).map(([deployment, allocations]) => ({
          deployment, allocations, threads: threads[deployment] || 1,
          processors: allocations * (threads[deployment] || 1),
          href: `#/deployments/${encodeURIComponent(deployment)}`,
        }));
        for (const entry of placed) {
          entry.text = `${format.count(entry.allocations, "allocation")} × ${format.count(entry.threads, "thread")} = ${format.count(entry.processors, "processor")}`;
        }
        const used = placed.reduce((sum, entry) => sum + entry.processors, 0);
        return {
          id: node.node_id, name: node.name, address: node.address, processors: node.processors, memory: format.bytes(node.memory_bytes),
          gpus: node.gpus.map((gpu) => `${gpu.device} ${gpu.name} (${format.bytes(gpu.memory_bytes)})`).join(", "),
          available: node.available, placed, used, left: Math.max(0, node.processors - used),
          usedWidth: { width: `${Math.min(100, Math.round((used / Math.max(1, node.processors)) * 100))}%` },
        };
      });
    },

    get totals() {
      const processors = this.nodes.reduce((sum, node) => sum + node.processors, 0);
      const used = this.nodes.reduce((sum, node) => sum + node.used, 0);
      return { nodes: this.nodes.length, processors, used, left: Math.max(0, processors - used) };
    },
  };
}
