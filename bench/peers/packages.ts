/**
 * The npm packages each side pulls in: every npm package a module graph
 * reaches (static and dynamic imports), with their dependencies, as
 * `deno info --json` resolves them from this repository's deno.json and
 * lock file. No network: the packages are already in Deno's cache.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Figure, Section, SectionOptions } from "../support/report.ts";
import { redact } from "../support/timing.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const LOCK = join(ROOT, "deno.lock");

/** What `deno info --json` says of one graph. */
interface Info {
  modules: { kind?: string; npmPackage?: string }[];
  npmPackages: Record<string, { dependencies?: string[] }>;
}

async function info(lock: string, entry: string): Promise<Info> {
  const { success, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "info",
      "--json",
      `--config=${join(ROOT, "deno.json")}`,
      `--lock=${lock}`,
      join(ROOT, entry),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(
      `deno info ${entry} failed: ${redact(new TextDecoder().decode(stderr))}`,
    );
  }
  return JSON.parse(new TextDecoder().decode(stdout));
}

/** The npm packages the graphs of `entries` reach, and those they import. */
interface Packages {
  /** Every package, dependencies included. */
  all: string[];
  /** The packages the graphs import directly. */
  direct: string[];
}

async function packagesOf(lock: string, entries: string[]): Promise<Packages> {
  const found = new Set<string>();
  const direct = new Set<string>();
  for (const entry of entries) {
    const graph = await info(lock, entry);
    const queue = graph.modules.flatMap((m) =>
      m.kind === "npm" && m.npmPackage ? [m.npmPackage] : []
    );
    for (const name of queue) direct.add(name);
    // Bounded by the packages in the graph: each is visited once.
    while (queue.length > 0) {
      const name = queue.pop()!;
      if (found.has(name)) continue;
      found.add(name);
      queue.push(...(graph.npmPackages[name]?.dependencies ?? []));
    }
  }
  return { all: [...found].sort(), direct: [...direct].sort() };
}

function names(packages: string[]): string {
  return packages.map((p) => p.replace(/@[^@]+$/, "")).join(", ");
}

function describe(packages: Packages): string {
  const indirect = packages.all.length - packages.direct.length;
  return `${
    names(packages.all)
  }; ${packages.direct.length} imported, ${indirect} pulled in by those`;
}

async function run(options: SectionOptions): Promise<Figure[]> {
  const dir = await Deno.makeTempDir({ prefix: "sesame_packages_" });
  try {
    const lock = join(dir, "deno.lock");
    await Deno.copyFile(LOCK, lock);
    const google = await packagesOf(lock, [
      "bench/fresh/import_google_auth.ts",
    ]);
    const plugin = await packagesOf(lock, ["plugins/gcp_id_token.ts"]);
    const runtime = await packagesOf(lock, [
      "mod.ts",
      "plugins/gcp_id_token.ts",
      "plugins/github_actions_oidc.ts",
      "plugins/kubernetes_token.ts",
      "plugins/static_token.ts",
      "src/cli/main.ts",
    ]);
    options.log(
      `  google-auth-library: ${google.all.length}; sesame: ${runtime.all.length}`,
    );
    return [
      {
        name: "npm packages, google-auth-library",
        value: String(google.all.length),
        detail: describe(google),
      },
      {
        name: "npm packages, sesame (mod.ts, every plugin, the CLI)",
        value: String(runtime.all.length),
        detail: describe(runtime),
      },
      {
        name: "npm packages, mod.ts + gcp_id_token",
        value: String(plugin.all.length),
        detail: `${
          describe(plugin)
        }; only jose is loaded with the plugin, the rest on first use`,
      },
    ];
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The section, for `bench/peers.ts`. */
export const packages: Section = {
  name: "packages",
  title: "npm packages each side pulls in",
  run,
};
