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
 * then prints the medians and the differences.
 *
 * Run with `deno run -A bench/warm_start.ts [runs]` (default 40 runs each).
 *
 * @module
 */
// deno-lint-ignore-file no-console -- a script whose output is its report

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FileCredentialStore } from "../mod.ts";

const RUNS = Number(Deno.args[0] ?? 40);
const WARMUP_RUNS = 3;
const KEY = "https://flyte.example.com|pkce|flytectl";
const TOKEN = "warm-start-test-token";
const CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));
const MOD = new URL("../mod.ts", import.meta.url).href;
const BASE = new URL(
  "../src/authenticators/caching_authenticator.ts",
  import.meta.url,
).href;
const STORE = new URL("../src/store/file_credential_store.ts", import.meta.url)
  .href;

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

function median(values: number[]): number {
  const sorted = values.toSorted((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2
    ? sorted[middle]!
    : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function timeRun(script: string, directory: string): Promise<number> {
  const command = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--cached-only",
      `--config=${CONFIG}`,
      `--lock=${join(directory, "deno.lock")}`,
      `--allow-read=${directory}`,
      script,
      directory,
      KEY,
    ],
    stdout: "null",
    stderr: "piped",
  });
  const start = performance.now();
  const { success, stderr } = await command.output();
  const elapsed = performance.now() - start;
  if (!success) {
    throw new Error(`${script} failed: ${new TextDecoder().decode(stderr)}`);
  }
  return elapsed;
}

const directory = await Deno.makeTempDir({ prefix: "sesame_warm_start_" });
try {
  // A copy of the lock file, so that the runs never write the project's.
  await Deno.copyFile(
    fileURLToPath(new URL("../deno.lock", import.meta.url)),
    join(directory, "deno.lock"),
  );
  await new FileCredentialStore({ directory }).set(KEY, {
    accessToken: TOKEN,
    expiresAt: Date.now() + 24 * 3600_000,
  });
  const scripts = Object.entries(VARIANTS).map(([name, source], i) => {
    const path = join(directory, `variant_${i}.ts`);
    Deno.writeTextFileSync(path, source);
    return { name, path, times: [] as number[] };
  });

  for (let run = 0; run < WARMUP_RUNS + RUNS; run++) {
    // Interleaved, so that a slow moment of the machine hits every variant.
    for (const script of scripts) {
      const elapsed = await timeRun(script.path, directory);
      if (run >= WARMUP_RUNS) script.times.push(elapsed);
    }
  }

  const [start, imported, warm, lean] = scripts.map((s) => median(s.times));
  console.log(`${RUNS} runs each, Deno ${Deno.version.deno}, ${Deno.build.os}`);
  for (const script of scripts) {
    const ms = median(script.times).toFixed(1).padStart(7);
    const min = Math.min(...script.times).toFixed(1).padStart(7);
    console.log(`${script.name.padEnd(34)} median ${ms} ms   min ${min} ms`);
  }
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  console.log(
    `beyond process start, through mod.ts: ${
      ms(warm! - start!)
    }, of which getCredentials() after the import: ${ms(warm! - imported!)}`,
  );
  console.log(
    `beyond process start, importing only the store and the base class: ${
      ms(lean! - start!)
    } (target under 5 ms)`,
  );
} finally {
  await Deno.remove(directory, { recursive: true });
}
