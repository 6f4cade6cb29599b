import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  AuthError,
  type CredentialLock,
  type Credentials,
  FileCredentialStore,
} from "../../mod.ts";

const HOUR = 3600_000;
/** The bound on every wait; reaching it fails the test, it is never asserted. */
const WAIT_MS = 30_000;
const KEY = "https://flyte.example.com|pkce|flytectl";
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SUPPORT = new URL("../support/", import.meta.url);
const onWindows = Deno.build.os === "windows";

async function withTempDir(test: (directory: string) => Promise<void>) {
  const directory = await Deno.makeTempDir({ prefix: "sesame_store_" });
  try {
    await test(directory);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
}

/** Fails when `promise` has not settled within {@linkcode WAIT_MS}. */
async function bounded<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`No ${what} in time`)), WAIT_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The slug as two regular expressions make it. */
function referenceSlug(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9.]+/g, "-").slice(0, 40)
    .replace(/^[-.]+|[-.]+$/g, "");
}

function referenceFnv1a64(text: string): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(text)) {
    hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, "0");
}

/** The file names a store leaves after setting each key. */
async function namesAfterSetting(
  directory: string,
  keys: string[],
): Promise<string[]> {
  const store = new FileCredentialStore({ directory });
  for (const key of keys) await store.set(key, { accessToken: "t" });
  return await fileNames(directory);
}

async function fileNames(directory: string): Promise<string[]> {
  const names = [];
  for await (const entry of Deno.readDir(directory)) names.push(entry.name);
  return names.sort();
}

async function entryPath(directory: string): Promise<string> {
  const [name, ...others] = (await fileNames(directory))
    .filter((name) => name.endsWith(".json"));
  assert.ok(name && others.length === 0, "one credentials file");
  return join(directory, name);
}

/** A `deno run` of a script in tests/support/, killed after WAIT_MS. */
function denoRun(
  script: string,
  permissions: string[],
  args: string[],
  options: Deno.CommandOptions = {},
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--no-lock",
      ...permissions,
      fileURLToPath(new URL(script, SUPPORT)),
      ...args,
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(WAIT_MS),
    ...options,
  });
}

function storePermissions(directory: string): string[] {
  return [`--allow-read=${directory}`, `--allow-write=${directory}`];
}

function lineReader(stream: ReadableStream<Uint8Array>) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  return {
    async next(): Promise<string> {
      while (!buffer.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`Output ended after "${buffer}"`);
        buffer += value;
      }
      const end = buffer.indexOf("\n");
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
      return line;
    },
    cancel: () => reader.cancel(),
  };
}

Deno.test("FileCredentialStore", async (t) => {
  await t.step("get() returns what set() stored", async () => {
    await withTempDir(async (directory) => {
      const store = new FileCredentialStore({ directory });
      const credentials: Credentials = {
        accessToken: "a",
        refreshToken: "r",
        idToken: "i",
        expiresAt: Date.now() + HOUR,
        forEndpoint: "dns:///flyte.example.com",
      };

      await store.set(KEY, credentials);

      assert.deepEqual(await store.get(KEY), credentials);
      assert.deepEqual(
        await new FileCredentialStore({ directory }).get(KEY),
        credentials,
      );
      assert.equal(await store.get("another key"), undefined);
    });
  });

  await t.step(
    "set() names the file after the key and keeps the key in it",
    async () => {
      await withTempDir(async (directory) => {
        const store = new FileCredentialStore({ directory });

        await store.set(KEY, { accessToken: "lower" });
        await store.set(KEY.toUpperCase(), { accessToken: "upper" });

        const names = await fileNames(directory);
        assert.match(
          names.join(" "),
          /^https-flyte\.example\.com-pkce-flytectl-[0-9a-f]{16}\.json https-flyte\.example\.com-pkce-flytectl-[0-9a-f]{16}\.json$/,
        );
        const saved = JSON.parse(
          await Deno.readTextFile(join(directory, names[0]!)),
        );
        assert.ok([KEY, KEY.toUpperCase()].includes(saved.key));

        assert.equal(
          (await store.get(KEY.toUpperCase()))?.accessToken,
          "upper",
        );
      });
    },
  );

  await t.step({
    name: "set() writes a 0600 file in a 0700 folder it creates",
    ignore: onWindows,
    fn: async () => {
      await withTempDir(async (parent) => {
        const directory = join(parent, "cache", "sesame");
        const store = new FileCredentialStore({ directory });

        await store.set(KEY, { accessToken: "a" });
        await store.lock(KEY).then((lock) => lock.release());

        assert.equal((await Deno.stat(directory)).mode! & 0o777, 0o700);
        for (const name of await fileNames(directory)) {
          const { mode } = await Deno.stat(join(directory, name));
          assert.equal(mode! & 0o777, 0o600, name);
        }
      });
    },
  });

  await t.step({
    name: "set() narrows the default folder to 0700 when it is wider",
    ignore: onWindows,
    fn: async () => {
      await withTempDir(async (cacheHome) => {
        const store = new FileCredentialStore();
        const saved = Deno.env.get("XDG_CACHE_HOME");
        // Set after construction: the folder is found on first use.
        Deno.env.set("XDG_CACHE_HOME", cacheHome);
        try {
          await Deno.mkdir(join(cacheHome, "sesame"));
          await Deno.chmod(join(cacheHome, "sesame"), 0o755);

          await store.set(KEY, { accessToken: "a" });

          assert.equal(store.directory, join(cacheHome, "sesame"));
          const { mode } = await Deno.stat(store.directory);
          assert.equal(mode! & 0o777, 0o700);
        } finally {
          if (saved === undefined) Deno.env.delete("XDG_CACHE_HOME");
          else Deno.env.set("XDG_CACHE_HOME", saved);
        }
      });
    },
  });

  await t.step("set() leaves no temporary files behind", async () => {
    await withTempDir(async (directory) => {
      const stores = [1, 2].map(() => new FileCredentialStore({ directory }));

      await Promise.all(
        Array.from(
          { length: 20 },
          (_, i) => stores[i % 2]!.set(KEY, { accessToken: `t${i}` }),
        ),
      );

      const names = await fileNames(directory);
      assert.equal(names.length, 1, names.join(", "));
      assert.match((await stores[0]!.get(KEY))?.accessToken ?? "", /^t\d+$/);
    });
  });

  await t.step(
    "file names end in the 64-bit FNV-1a hash of the key's UTF-8 bytes",
    async () => {
      await withTempDir(async (directory) => {
        const keys = [
          "a",
          "foobar",
          "https://h\u00e9|pkce|\u4e16\u754c",
          "\u{1f511}",
        ];

        const names = await namesAfterSetting(directory, keys);
        // Two published test vectors, then a plain BigInt FNV-1a for the rest.
        assert.ok(names.includes("a-af63dc4c8601ec8c.json"), names.join(" "));
        assert.ok(names.includes("foobar-85944171f73967e8.json"));
        for (const key of keys) {
          const hash = referenceFnv1a64(key);
          assert.ok(names.some((name) => name.endsWith(`${hash}.json`)), key);
        }
      });
    },
  );

  await t.step(
    "file names start with a readable slug of the key, at most 40 characters",
    async () => {
      await withTempDir(async (directory) => {
        const keys = [
          "https://Flyte.Example.com:443|PKCE|flytectl",
          "..--Leading and trailing--..",
          "a".repeat(39) + "|b",
          "b".repeat(41),
          "caf\u00e9|\u{1f511}|x",
          "|||",
        ];

        const names = await namesAfterSetting(directory, keys);
        for (const key of keys) {
          const slug = referenceSlug(key);
          const hash = referenceFnv1a64(key);
          const name = slug ? `${slug}-${hash}.json` : `${hash}.json`;
          assert.ok(names.includes(name), `${name} in ${names.join(" ")}`);
        }
        assert.ok(names.includes(
          `https-flyte.example.com-443-pkce-flytect-${
            referenceFnv1a64(keys[0]!)
          }.json`,
        ));
      });
    },
  );

  await t.step(
    "get() never sees a partial file while set() replaces it",
    async () => {
      await withTempDir(async (directory) => {
        const store = new FileCredentialStore({ directory });
        const padding = "x".repeat(1 << 20);
        await store.set(KEY, { accessToken: `0:${padding}` });
        let writing = true;
        const reads: (string | undefined)[] = [];

        const reader = (async () => {
          while (writing) {
            reads.push((await store.get(KEY))?.accessToken);
            // get() reads synchronously: let the writes' file operations run.
            await new Promise((resolve) => setTimeout(resolve, 0));
          }
        })();
        for (let i = 1; i <= 20; i++) {
          await store.set(KEY, { accessToken: `${i}:${padding}` });
        }
        writing = false;
        await reader;

        const whole = reads.filter((token) => token?.endsWith(`:${padding}`));
        assert.ok(reads.length > 1, `only ${reads.length} read`);
        assert.equal(whole.length, reads.length, "every read saw a whole file");
      });
    },
  );

  await t.step("get() returns undefined when the file is corrupt", async () => {
    await withTempDir(async (directory) => {
      const store = new FileCredentialStore({ directory });
      await store.set(KEY, { accessToken: "a" });
      const path = await entryPath(directory);

      await Deno.writeTextFile(path, '{"version":1,"key":"https://fl');

      assert.equal(await store.get(KEY), undefined);
      await store.set(KEY, { accessToken: "b" });
      assert.equal((await store.get(KEY))?.accessToken, "b");
    });
  });

  await t.step(
    "get() returns undefined when the file holds no valid credentials",
    async () => {
      await withTempDir(async (directory) => {
        const store = new FileCredentialStore({ directory });
        await store.set(KEY, { accessToken: "a" });
        const path = await entryPath(directory);
        const write = (entry: unknown) =>
          Deno.writeTextFile(path, JSON.stringify(entry));

        await write({ version: 1, key: KEY, credentials: { accessToken: 42 } });
        assert.equal(await store.get(KEY), undefined);
        await write({
          version: 1,
          key: KEY,
          credentials: { accessToken: "a", expiresAt: "tomorrow" },
        });
        assert.equal(await store.get(KEY), undefined);
        await write({
          version: 1,
          key: "other",
          credentials: { accessToken: "a" },
        });
        assert.equal(await store.get(KEY), undefined);
      });
    },
  );

  await t.step("get() returns only the fields of Credentials", async () => {
    await withTempDir(async (directory) => {
      const store = new FileCredentialStore({ directory });
      const extra = { accessToken: "a", expiresAt: 1, password: "p" };

      await store.set(KEY, extra);

      assert.deepEqual(await store.get(KEY), {
        accessToken: "a",
        expiresAt: 1,
      });
      assert.equal(
        (await Deno.readTextFile(await entryPath(directory))).includes(
          "password",
        ),
        false,
      );
    });
  });

  await t.step(
    "delete() removes the file and ignores a missing key",
    async () => {
      await withTempDir(async (directory) => {
        const store = new FileCredentialStore({ directory });
        await store.set(KEY, { accessToken: "a" });

        await store.delete(KEY);
        await store.delete(KEY);
        await new FileCredentialStore({ directory: join(directory, "none") })
          .delete(KEY);

        assert.equal(await store.get(KEY), undefined);
        assert.deepEqual(await fileNames(directory), []);
      });
    },
  );

  await t.step(
    "set() throws a TypeError, without the token, for bad credentials",
    async () => {
      await withTempDir(async (directory) => {
        const store = new FileCredentialStore({ directory });
        const bad = { accessToken: "", refreshToken: "secret-refresh-token" };

        await assert.rejects(store.set(KEY, bad), (error: Error) => {
          assert.ok(error instanceof TypeError);
          assert.equal(error.message.includes("secret-refresh-token"), false);
          return true;
        });
        await assert.rejects(store.get(""), TypeError);
        assert.throws(
          () => new FileCredentialStore({ directory: 1 as unknown as string }),
          TypeError,
        );
      });
    },
  );

  await t.step(
    "set() throws an AuthError naming the folder when it cannot be made",
    async () => {
      await withTempDir(async (parent) => {
        await Deno.writeTextFile(join(parent, "file"), "");
        const directory = join(parent, "file", "sesame");
        const store = new FileCredentialStore({ directory });

        await assert.rejects(
          store.set(KEY, { accessToken: "secret-access-token" }),
          (error: AuthError) => {
            assert.ok(error instanceof AuthError);
            assert.equal(error.code, "AUTH_ERROR");
            assert.match(
              error.message,
              /^Cannot create the credentials folder ".*sesame": .*; check the folder's permissions, or pass options\.directory$/,
            );
            assert.equal(error.message.includes("secret-access-token"), false);
            return true;
          },
        );
      });
    },
  );

  await t.step(
    "new FileCredentialStore() reads nothing; get() without --allow-env is a ConfigError",
    async () => {
      const { success, stdout, stderr } = await denoRun(
        "store_without_permissions.ts",
        [],
        [],
      ).output();

      assert.ok(success, new TextDecoder().decode(stderr));
      const outcome = JSON.parse(new TextDecoder().decode(stdout));
      assert.equal(outcome.constructed, true);
      assert.equal(outcome.code, "CONFIG_INVALID");
      assert.match(
        outcome.message,
        /^Cannot find the user cache directory: .*--allow-env=XDG_CACHE_HOME,HOME/,
      );
    },
  );

  await t.step(
    "lock() waits while another holder in this process keeps it",
    async () => {
      await withTempDir(async (directory) => {
        // Two stores, as two authenticators of one process would have.
        const first = new FileCredentialStore({ directory });
        const second = new FileCredentialStore({ directory });
        const held = await bounded(first.lock(KEY), "first lock");
        const events: string[] = [];

        const waiting = second.lock(KEY).then((lock) => {
          events.push("second locked");
          return lock;
        });
        // File calls queued after the lock: an unheld lock would be taken
        // before they finish.
        for (let i = 0; i < 5; i++) {
          await first.set(KEY, { accessToken: `t${i}` });
          await second.get(KEY);
        }
        events.push("first released");
        await held.release();
        const lock = await bounded(waiting, "second lock");
        await lock.release();

        assert.deepEqual(events, ["first released", "second locked"]);
      });
    },
  );

  await t.step(
    "lock() on another key does not wait, and release() may be called twice",
    async () => {
      await withTempDir(async (directory) => {
        const store = new FileCredentialStore({ directory });
        const held = await bounded(store.lock(KEY), "lock");

        const other = await bounded(store.lock("other"), "lock on another key");
        await other.release();
        await held.release();
        await held.release();
        const again = await bounded(store.lock(KEY), "lock after release");
        await again.release();

        const names = await fileNames(directory);
        assert.equal(names.filter((name) => name.endsWith(".lock")).length, 2);
      });
    },
  );

  await t.step("lock() is taken once a holder process is killed", async () => {
    await withTempDir(async (directory) => {
      const holder = denoRun(
        "store_lock_holder.ts",
        storePermissions(directory),
        [directory, KEY],
        { stdin: "piped", stderr: "inherit" },
      ).spawn();
      const lines = lineReader(holder.stdout);
      const input = holder.stdin.getWriter();
      let lock: CredentialLock | undefined;
      try {
        assert.equal(
          await bounded(lines.next(), "lock in the holder"),
          "locked",
        );
        const events: string[] = [];

        const waiting = new FileCredentialStore({ directory }).lock(KEY)
          .then((taken) => {
            events.push("locked here");
            return taken;
          });
        // A round trip to the holder is far slower than an uncontended lock:
        // were the holder's lock not exclusive, ours would be taken by now.
        await input.write(new TextEncoder().encode("ping\n"));
        assert.equal(await bounded(lines.next(), "pong"), "pong");
        events.push("holder killed");
        holder.kill("SIGKILL");
        const status = await bounded(holder.status, "holder exit");
        lock = await bounded(waiting, "lock after the kill");

        assert.deepEqual(events, ["holder killed", "locked here"]);
        assert.equal(status.signal, "SIGKILL");
      } finally {
        await lock?.release();
        await input.close().catch(() => {});
        await lines.cancel();
        try {
          holder.kill("SIGKILL");
        } catch {
          // Already dead.
        }
        await holder.status;
      }
    });
  });

  await t.step(
    "four processes started together on an empty store fetch once",
    async () => {
      await withTempDir(async (directory) => {
        const processes = 4;
        let tokenRequests = 0;
        let ready = 0;
        const allReady = Promise.withResolvers<void>();
        const server = Deno.serve(
          { hostname: "127.0.0.1", port: 0, onListen() {} },
          async (request) => {
            const { pathname } = new URL(request.url);
            if (pathname === "/ready") {
              // A barrier, so that no process starts before the others.
              if (++ready === processes) allReady.resolve();
              await allReady.promise;
              return new Response("go");
            }
            const n = ++tokenRequests;
            // A slow token endpoint leaves every process time to find the
            // store empty, were it not for the lock.
            await new Promise((resolve) => setTimeout(resolve, 100));
            return new Response(`test-token-${n}`);
          },
        );
        try {
          const { port } = server.addr;
          const permissions = [
            ...storePermissions(directory),
            `--allow-net=127.0.0.1:${port}`,
          ];

          const outputs = await bounded(
            Promise.all(
              Array.from(
                { length: processes },
                () =>
                  denoRun("store_fetch_once.ts", permissions, [
                    directory,
                    String(port),
                  ]).output(),
              ),
            ),
            "exit of the processes",
          );

          const decoder = new TextDecoder();
          for (const { success, stderr } of outputs) {
            assert.ok(success, decoder.decode(stderr));
          }
          const printed = outputs.map(({ stdout }) => decoder.decode(stdout));
          assert.equal(tokenRequests, 1);
          assert.deepEqual(printed, Array(processes).fill("test-token-1\n"));
        } finally {
          allReady.resolve();
          await server.shutdown();
        }
      });
    },
  );
});

Deno.test("keys() lists the stored keys and skips corrupt and foreign files", async () => {
  const directory = await Deno.makeTempDir();
  try {
    const store = new FileCredentialStore({ directory });
    await store.set("https://a.example.com|pkce|c", { accessToken: "1" });
    await store.set("https://b.example.com|deviceflow|c", { accessToken: "2" });
    await Deno.writeTextFile(`${directory}/corrupt.json`, "{ not json");
    await Deno.writeTextFile(
      `${directory}/foreign.json`,
      JSON.stringify({ version: 1, key: "elsewhere", credentials: {} }),
    );

    const keys = (await store.keys()).sort();
    assert.deepEqual(keys, [
      "https://a.example.com|pkce|c",
      "https://b.example.com|deviceflow|c",
    ]);
    await store.delete("https://a.example.com|pkce|c");
    assert.deepEqual(await store.keys(), [
      "https://b.example.com|deviceflow|c",
    ]);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

Deno.test("keys() is empty when the folder does not exist yet", async () => {
  const directory = await Deno.makeTempDir();
  try {
    const store = new FileCredentialStore({ directory: `${directory}/later` });
    assert.deepEqual(await store.keys(), []);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});
