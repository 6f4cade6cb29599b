/**
 * A warm `getCredentials()` from the file store in a new process, against
 * the target of issue 3: under 5 ms beyond process start.
 *
 * Times, in turn and many times over, new `deno run` processes that
 * 1. start and exit (an empty module),
 * 2. import mod.ts and exit,
 * 3. import mod.ts and get credentials from a filled FileCredentialStore,
 * 4. do the same importing only the two modules it needs, to tell the cost
 *    of the store from that of loading the rest of mod.ts,
 * then prints the medians and the differences. It does so twice: with this
 * repository's deno.json and lock file (whose 67 npm packages are mostly
 * test and benchmark tools), and in a consumer project whose deno.json maps
 * only the four packages sesame's modules import, as an application using
 * sesame would have them. Last, it runs `bench/fresh/warm_get.ts` in the consumer
 * project, which times the steps from inside the process.
 *
 * Run with `deno run -A bench/warm_start.ts [runs]` (default 40 runs each).
 *
 * @module
 */
// deno-lint-ignore-file no-console -- a script whose output is its report

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FileCredentialStore } from "../mod.ts";
import { median } from "./support/timing.ts";

const RUNS = Number(Deno.args[0] ?? 40);
const WARMUP_RUNS = 3;
const KEY = "https://flyte.example.com|pkce|flytectl";
const OTHER_KEY = "https://flyte.example.com|deviceflow|flytectl";
const TOKEN = "warm-start-test-token";
// The npm packages sesame's own modules import (Deno maps their subpaths).
const RUNTIME_IMPORTS = ["oauth4webapi", "yaml", "jsonc-parser", "jose"];
const REPO_CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));
const REPO_LOCK = fileURLToPath(new URL("../deno.lock", import.meta.url));
const MOD = new URL("../mod.ts", import.meta.url).href;
const BASE = new URL(
  "../src/authenticators/caching_authenticator.ts",
  import.meta.url,
).href;
const STORE = new URL("../src/store/file_credential_store.ts", import.meta.url)
  .href;
const BREAKDOWN = fileURLToPath(
  new URL("./fresh/warm_get.ts", import.meta.url),
);

function getCredentialsScript(imports: string): string {
  return `${imports}
class StoredOnly extends CachingAuthenticator {
  protected fetchCredentials(): Promise<never> {
    throw new Error("Expected the stored credentials");
  }
}
const [directory, key] = Deno.args;
const credentialStore = new FileCredentialStore({ directory });
const authenticator = new StoredOnly({ storeKey: key, context: { credentialStore } });
const { accessToken } = await authenticator.getCredentials();
if (accessToken !== ${JSON.stringify(TOKEN)}) Deno.exit(1);
`;
}

const VARIANTS: Record<string, string> = {
  "start and exit": "export {};\n",
  "import mod.ts": `import ${JSON.stringify(MOD)};\n`,
  "import mod.ts + getCredentials()": getCredentialsScript(
    `import { CachingAuthenticator, FileCredentialStore } from "${MOD}";`,
  ),
  "import 2 modules + getCredentials()": getCredentialsScript(
    `import { CachingAuthenticator } from "${BASE}";
import { FileCredentialStore } from "${STORE}";`,
  ),
};

/** Where a process runs: its config file, lock file and store folder. */
interface Project {
  name: string;
  config: string;
  lock: string;
  directory: string;
}

async function run(
  project: Project,
  script: string,
  args: string[],
): Promise<{ elapsed: number; stdout: string }> {
  const command = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--cached-only",
      `--config=${project.config}`,
      `--lock=${project.lock}`,
      `--allow-read=${project.directory}`,
      script,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  });
  const start = performance.now();
  const { success, stdout, stderr } = await command.output();
  const elapsed = performance.now() - start;
  if (!success) {
    throw new Error(`${script} failed: ${new TextDecoder().decode(stderr)}`);
  }
  return { elapsed, stdout: new TextDecoder().decode(stdout) };
}

/**
 * A project whose deno.json maps only sesame's own npm imports, made in a
 * folder of `directory`, the store folder.
 */
async function consumerProject(directory: string): Promise<Project> {
  const { imports } = JSON.parse(await Deno.readTextFile(REPO_CONFIG));
  const folder = await Deno.makeTempDir({ dir: directory, prefix: "app_" });
  const config = join(folder, "deno.json");
  const lock = join(folder, "deno.lock");
  await Deno.writeTextFile(
    config,
    JSON.stringify({
      imports: Object.fromEntries(
        RUNTIME_IMPORTS.map((name) => [name, imports[name]]),
      ),
    }),
  );
  // Resolves from Deno's cache, which `deno install` in this repo filled.
  const { success, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["cache", `--config=${config}`, `--lock=${lock}`, MOD],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(
      `Cannot make the consumer project's lock file: ${
        new TextDecoder().decode(stderr)
      }`,
    );
  }
  return { name: "consumer project", config, lock, directory };
}

async function timeVariants(project: Project): Promise<void> {
  const scripts = Object.entries(VARIANTS).map(([name, source], i) => {
    const path = join(project.directory, `variant_${i}.ts`);
    Deno.writeTextFileSync(path, source);
    return { name, path, times: [] as number[] };
  });
  for (let round = 0; round < WARMUP_RUNS + RUNS; round++) {
    // Interleaved, so that a slow moment of the machine hits every variant.
    for (const script of scripts) {
      const { elapsed } = await run(project, script.path, [
        project.directory,
        KEY,
      ]);
      if (round >= WARMUP_RUNS) script.times.push(elapsed);
    }
  }

  const [start, imported, warm, lean] = scripts.map((s) => median(s.times));
  console.log(`\n${project.name} (${project.config})`);
  for (const script of scripts) {
    const ms = median(script.times).toFixed(1).padStart(7);
    const min = Math.min(...script.times).toFixed(1).padStart(7);
    console.log(`${script.name.padEnd(36)} median ${ms} ms   min ${min} ms`);
  }
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  console.log(
    `beyond process start, through mod.ts: ${
      ms(warm! - start!)
    } (target under 5 ms), of which getCredentials() after the import: ${
      ms(warm! - imported!)
    }`,
  );
  console.log(
    `beyond process start, importing only the store and the base class: ${
      ms(lean! - start!)
    }`,
  );
}

async function timeBreakdown(project: Project): Promise<void> {
  const samples: Record<string, number>[] = [];
  const starts: number[] = [];
  const emptyScript = join(project.directory, "first_line.ts");
  await Deno.writeTextFile(emptyScript, "console.log(performance.now());\n");
  for (let round = 0; round < WARMUP_RUNS + RUNS; round++) {
    const args = [project.directory, KEY, OTHER_KEY];
    const { stdout } = await run(project, BREAKDOWN, args);
    const empty = await run(project, emptyScript, []);
    if (round < WARMUP_RUNS) continue;
    samples.push(JSON.parse(stdout));
    starts.push(Number(empty.stdout));
  }
  console.log(`\nfrom inside the process, ${project.name}, medians:`);
  console.log(
    `${"first line of an empty script".padEnd(36)} ${
      median(starts).toFixed(2)
    } ms after the time origin`,
  );
  for (const name of Object.keys(samples[0]!)) {
    const value = median(samples.map((sample) => sample[name]!));
    const what = name === "first line" ? "ms after the time origin" : "ms";
    console.log(`${name.padEnd(36)} ${value.toFixed(2)} ${what}`);
  }
}

const directory = await Deno.makeTempDir({ prefix: "sesame_warm_start_" });
try {
  const store = new FileCredentialStore({ directory });
  const expiresAt = Date.now() + 24 * 3600_000;
  await store.set(KEY, { accessToken: TOKEN, expiresAt });
  await store.set(OTHER_KEY, { accessToken: TOKEN, expiresAt });
  console.log(`${RUNS} runs each, Deno ${Deno.version.deno}, ${Deno.build.os}`);

  // A copy of the lock file, so that the runs never write the project's.
  const lock = join(directory, "repo.lock");
  await Deno.copyFile(REPO_LOCK, lock);
  const repo = {
    name: "this repository",
    config: REPO_CONFIG,
    lock,
    directory,
  };
  await timeVariants(repo);

  const consumer = await consumerProject(directory);
  await timeVariants(consumer);
  await timeBreakdown(consumer);
} finally {
  await Deno.remove(directory, { recursive: true });
}
