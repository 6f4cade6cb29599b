/**
 * The `gcp_id_token` plugin against google-auth-library and a hand-written
 * jose + fetch script, in fresh `deno run` processes: the first ID token
 * (import, read the key, sign, one token request, exit) and the import of
 * each module graph alone, against one fake Google token endpoint with one
 * service account key.
 *
 * Every variant runs with the same flags, this repository's deno.json and a
 * copy of its lock file, in turn with the others, many times; the figures
 * are ratios of medians. Import times are taken beyond process start: the
 * median of a process that imports and exits, less that of one that only
 * starts and exits.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  AUDIENCE,
  type FakeGoogle,
  startFakeGoogle,
} from "../../tests/support/fake_google.ts";
import type { Figure, Section, SectionOptions } from "../support/report.ts";
import {
  duration,
  interleave,
  median,
  redact,
  times,
} from "../support/timing.ts";

const FRESH = fileURLToPath(new URL("../fresh/", import.meta.url));
const CONFIG = fileURLToPath(new URL("../../deno.json", import.meta.url));
const LOCK = fileURLToPath(new URL("../../deno.lock", import.meta.url));

const VARIANTS = {
  start: "start.ts",
  importJose: "import_jose.ts",
  importMod: "import_mod.ts",
  importNodePath: "import_node_path.ts",
  importModJose: "import_mod_jose.ts",
  importSesame: "import_sesame.ts",
  importGoogle: "import_google_auth.ts",
  tokenJose: "jose_first_token.ts",
  tokenSesame: "sesame_first_token.ts",
  tokenGoogle: "google_auth_first_token.ts",
} as const;

type Variant = keyof typeof VARIANTS;

const LABELS: Record<Variant, string> = {
  start: "start and exit",
  importJose: "import jose",
  importMod: "import mod.ts alone",
  importNodePath: "import node:path",
  importModJose: "import mod.ts + jose",
  importSesame: "import mod.ts + gcp_id_token",
  importGoogle: "import google-auth-library",
  tokenJose: "first ID token, jose + fetch by hand",
  tokenSesame: "first ID token, sesame gcp_id_token",
  tokenGoogle: "first ID token, google-auth-library",
};

/** The flags every fresh process runs with. */
function runArgs(lock: string, script: string): string[] {
  return [
    "run",
    "--quiet",
    "--no-prompt",
    "--cached-only",
    `--config=${CONFIG}`,
    `--lock=${lock}`,
    "-A",
    join(FRESH, script),
  ];
}

async function runProcess(
  lock: string,
  script: string,
  env: Record<string, string>,
): Promise<void> {
  const { success, code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: runArgs(lock, script),
    env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) {
    const text = redact(new TextDecoder().decode(stderr));
    throw new Error(`${script} exited with code ${code}: ${text}`);
  }
}

/** Downloads nothing during the timed runs: fills the cache first. */
async function cacheScripts(lock: string): Promise<void> {
  const scripts = Object.values(VARIANTS).map((name) => join(FRESH, name));
  const { success, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "cache",
      "--quiet",
      `--config=${CONFIG}`,
      `--lock=${lock}`,
      ...scripts,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(
      `Cannot cache the fresh-process scripts: ${
        redact(new TextDecoder().decode(stderr))
      }`,
    );
  }
}

function environment(google: FakeGoogle): Record<string, string> {
  return {
    GOOGLE_APPLICATION_CREDENTIALS: google.keyFile,
    SESAME_BENCH_TOKEN_URI: google.tokenUri,
    SESAME_BENCH_AUDIENCE: AUDIENCE,
  };
}

function figures(m: Record<Variant, number>, runs: number): Figure[] {
  const beyond = (variant: Variant) => m[variant] - m.start;
  const token = m.tokenSesame / m.tokenGoogle;
  const imports = beyond("importSesame") / beyond("importGoogle");
  const each = `${runs} runs each`;
  return [
    {
      name: "first ID token in a fresh process, sesame / google-auth-library",
      value: times(token),
      detail: `medians ${duration(m.tokenSesame)} vs ${
        duration(m.tokenGoogle)
      }; beyond process start ${
        times(beyond("tokenSesame") / beyond("tokenGoogle"))
      }; ${each}`,
      target: "≤ 0.45×",
      met: token <= 0.45,
    },
    {
      name: "first ID token, google-auth-library / jose + fetch",
      value: times(m.tokenGoogle / m.tokenJose),
      detail: `jose + fetch ${
        duration(m.tokenJose)
      }; issue 5 quotes about 2.7×`,
    },
    {
      name: "first ID token, sesame / jose + fetch",
      value: times(m.tokenSesame / m.tokenJose),
      detail: `process start alone ${duration(m.start)}`,
    },
    {
      name:
        "import beyond process start, mod.ts + plugin / google-auth-library",
      value: times(imports),
      detail: `${duration(beyond("importSesame"))} vs ${
        duration(beyond("importGoogle"))
      }; ${each}`,
      target: "≤ 0.25×",
      met: imports <= 0.25,
    },
    {
      name: "import beyond process start, parts of sesame's graph",
      value: duration(beyond("importSesame")),
      detail: `mod.ts alone ${duration(beyond("importMod"))}, jose alone ${
        duration(beyond("importJose"))
      }, node:path alone ${duration(beyond("importNodePath"))}, mod.ts + jose ${
        duration(beyond("importModJose"))
      }`,
    },
    {
      name:
        "import beyond process start, mod.ts + jose (the plugin's graph less node:path and its own modules) / google-auth-library",
      value: times(beyond("importModJose") / beyond("importGoogle")),
      detail:
        `what the plugin's import would be without node:path; its first token would then be about ${
          times(
            (m.tokenSesame - (m.importSesame - m.importModJose)) /
              m.tokenGoogle,
          )
        } of google-auth-library's`,
    },
    {
      name: "import beyond process start, google-auth-library / jose",
      value: times(beyond("importGoogle") / beyond("importJose")),
      detail: `jose ${
        duration(beyond("importJose"))
      }; issue 5 quotes about 8.7×`,
    },
  ];
}

async function run(options: SectionOptions): Promise<Figure[]> {
  const runs = options.quick ? 8 : 40;
  const warmup = 3;
  const dir = await Deno.makeTempDir({ prefix: "sesame_peers_" });
  try {
    // A copy of the lock file, so that no run writes the project's.
    const lock = join(dir, "deno.lock");
    await Deno.copyFile(LOCK, lock);
    await cacheScripts(lock);
    await using google = await startFakeGoogle();
    const env = environment(google);
    const variants = Object.keys(VARIANTS) as Variant[];
    const tasks = Object.fromEntries(
      variants.map((v) => [v, () => runProcess(lock, VARIANTS[v], env)]),
    );
    const samples = await interleave(tasks, runs, warmup);
    const expected = 3 * (runs + warmup);
    if (google.issued !== expected) {
      throw new Error(
        `Expected ${expected} ID tokens, the fake issued ${google.issued}`,
      );
    }
    const medians = Object.fromEntries(
      samples.map(({ name, times }) => [name, median(times)]),
    ) as Record<Variant, number>;
    for (const variant of variants) {
      options.log(
        `  ${LABELS[variant].padEnd(40)} median ${duration(medians[variant])}`,
      );
    }
    return figures(medians, runs);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The section, for `bench/peers.ts`. */
export const google: Section = {
  name: "google",
  title: "gcp_id_token against google-auth-library, in fresh processes",
  run,
};
