import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL as toFileUrl } from "node:url";
import {
  type Authenticator,
  AuthenticatorRegistry,
  type AuthEvent,
  CachingAuthenticator,
  ClientCredentialsAuthenticator,
  CommandAuthenticator,
  ConfigError,
  type Credentials,
  DeviceCodeAuthenticator,
  getAuthenticator,
  listAuthModes,
  PkceAuthenticator,
  type PlatformConfig,
  PluginContractError,
  PluginInitError,
  PluginLoadError,
  resolveAuthMode,
  StaticClientConfigStore,
  UnknownAuthModeError,
} from "../../mod.ts";

const store = new StaticClientConfigStore({
  tokenEndpoint: "https://idp.example.com/token",
  authorizationEndpoint: "https://idp.example.com/auth",
  redirectUri: "http://127.0.0.1:53593/callback",
  clientId: "flytectl",
});

function fixed(token: string): Authenticator {
  return {
    headerKey: "authorization",
    getCredentials: () => Promise.resolve({ accessToken: token }),
    refreshCredentials: () => Promise.resolve({ accessToken: token }),
  };
}

/** A registry that fails the test if it is consulted at all. */
class ForbiddenRegistry extends AuthenticatorRegistry {
  override get(): never {
    throw new Error("the registry was consulted");
  }
  override has(): never {
    throw new Error("the registry was consulted");
  }
}

/** Writes files into a new temporary folder; removed by the returned dispose. */
async function tempProject(files: Record<string, string>) {
  const dir = await Deno.makeTempDir({ prefix: "sesame-resolver-" });
  for (const [name, text] of Object.entries(files)) {
    await Deno.mkdir(join(dir, name, ".."), { recursive: true });
    await Deno.writeTextFile(join(dir, name), text);
  }
  return {
    dir,
    path: (name: string) => join(dir, name),
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

const PLUGIN_MODULE = `
export default (config, _store, context) => ({
  headerKey: "x-plugin",
  getCredentials: () => Promise.resolve({ accessToken: "from-" + config.clientId }),
  refreshCredentials: () => Promise.resolve({ accessToken: "from-" + config.clientId }),
  hasContext: typeof context.fetch === "function",
});
`;

Deno.test("getAuthenticator() constructs the class of every built-in name", async (t) => {
  const expected: Record<string, unknown> = {
    standard: PkceAuthenticator,
    pkce: PkceAuthenticator,
    basic: ClientCredentialsAuthenticator,
    client_credentials: ClientCredentialsAuthenticator,
    clientsecret: ClientCredentialsAuthenticator,
    external_process: CommandAuthenticator,
    externalcommand: CommandAuthenticator,
    deviceflow: DeviceCodeAuthenticator,
  };
  const config: PlatformConfig = {
    endpoint: "flyte.example.com",
    clientId: "c",
    clientCredentialsSecret: "s",
    command: ["echo", "t"],
  };
  for (const [mode, cls] of Object.entries(expected)) {
    await t.step(
      `"${mode.toUpperCase()}" makes ${(cls as { name: string }).name}`,
      async () => {
        const made = await getAuthenticator(
          { ...config, authMode: mode.toUpperCase() },
          store,
          {
            registry: new ForbiddenRegistry(),
            configFile: "/nonexistent/deno.json",
          },
        );
        assert.ok(made instanceof (cls as typeof CachingAuthenticator));
      },
    );
  }
  await t.step("no authMode means standard, which is PKCE", async () => {
    const made = await getAuthenticator({}, store, { configFile: false });
    assert.ok(made instanceof PkceAuthenticator);
  });
});

Deno.test("getAuthenticator() never reads deno.json nor asks the registry for a built-in name", async () => {
  await using project = await tempProject({
    "deno.json": "{ this is not json",
  });
  const events: AuthEvent[] = [];
  const made = await getAuthenticator(
    { authMode: "ExternalCommand", command: ["echo", "t"] },
    store,
    {
      registry: new ForbiddenRegistry(),
      configFile: project.path("deno.json"),
      context: { onEvent: (event) => events.push(event) },
    },
  );
  assert.ok(made instanceof CommandAuthenticator);
  assert.deepEqual(events, [
    { type: "mode_resolved", mode: "externalcommand", source: "builtin" },
  ]);
  // The same file does break a name that must be discovered: it was unread.
  await assert.rejects(
    resolveAuthMode("gcp", { configFile: project.path("deno.json") }),
    ConfigError,
  );
});

Deno.test("getAuthenticator() uses a registered plugin", async (t) => {
  const registry = new AuthenticatorRegistry();
  let received: unknown[] = [];
  registry.register("Corp", (...args) => {
    received = args;
    return fixed("registered");
  });

  await t.step(
    "found case-insensitively, with config, store and context",
    async () => {
      const made = await getAuthenticator({ authMode: "CORP" }, store, {
        registry,
        configFile: false,
      });
      assert.equal((await made.getCredentials()).accessToken, "registered");
      assert.equal(received[1], store);
      assert.equal(
        typeof (received[2] as { fetch: unknown }).fetch,
        "function",
      );
    },
  );

  await t.step("a class plugin is called with new", async () => {
    class ClassPlugin extends CachingAuthenticator {
      constructor(readonly config: PlatformConfig) {
        super({ headerKey: "x-class" });
      }
      protected fetchCredentials(): Promise<Credentials> {
        return Promise.resolve({ accessToken: "class" });
      }
    }
    registry.register("class", ClassPlugin);
    const made = await getAuthenticator({ authMode: "class" }, store, {
      registry,
      configFile: false,
    });
    assert.ok(made instanceof ClassPlugin);
    assert.equal(made.headerKey, "x-class");
  });

  await t.step("a plugin written for two arguments keeps working", async () => {
    registry.register(
      "two",
      (config: PlatformConfig, _store) => fixed(config.clientId ?? ""),
    );
    const made = await getAuthenticator(
      { authMode: "two", clientId: "c2" },
      store,
      { registry, configFile: false },
    );
    assert.equal((await made.getCredentials()).accessToken, "c2");
  });
});

Deno.test("getAuthenticator() checks what a plugin makes", async (t) => {
  const registry = new AuthenticatorRegistry();
  const options = { registry, configFile: false as const };

  await t.step(
    "a factory that throws is a PluginInitError naming the mode",
    async () => {
      const original = new Error("no key file");
      registry.register("throws", () => {
        throw original;
      });
      const error = await assert.rejects(
        getAuthenticator({ authMode: "throws" }, store, options),
        (error: unknown) => {
          assert.ok(error instanceof PluginInitError);
          assert.equal(error.code, "PLUGIN_INIT_FAILED");
          assert.equal(error.cause, original);
          assert.match(error.message, /"throws".*no key file/);
          return true;
        },
      );
      assert.equal(error, undefined);
    },
  );

  await t.step("an async factory that rejects is wrapped too", async () => {
    registry.register("rejects", () => Promise.reject(new Error("later")));
    await assert.rejects(
      getAuthenticator({ authMode: "rejects" }, store, options),
      PluginInitError,
    );
  });

  await t.step(
    "a non-authenticator is a PluginContractError listing what is missing",
    async () => {
      registry.register(
        "partial",
        () =>
          ({ headerKey: 1, getCredentials() {} }) as unknown as Authenticator,
      );
      await assert.rejects(
        getAuthenticator({ authMode: "partial" }, store, options),
        (error: unknown) => {
          assert.ok(error instanceof PluginContractError);
          assert.equal(error.code, "PLUGIN_CONTRACT_VIOLATED");
          assert.match(
            error.message,
            /headerKey \(string\), refreshCredentials \(function\)/,
          );
          assert.doesNotMatch(error.message, /getCredentials \(/);
          return true;
        },
      );
    },
  );

  await t.step("undefined is a PluginContractError", async () => {
    registry.register("nothing", () => undefined as unknown as Authenticator);
    await assert.rejects(
      getAuthenticator({ authMode: "nothing" }, store, options),
      /returned undefined instead of an authenticator/,
    );
  });
});

Deno.test("getAuthenticator() discovers plugins from auth.plugins", async (t) => {
  await using project = await tempProject({
    "deno.jsonc": `{
      // comments are allowed in deno.jsonc
      "imports": {
        "@corp/auth": "./vendor/corp.ts",
        "@corp/plugins/": "./vendor/plugins/",
      },
      "auth": { "plugins": {
        "Local": "./plugins/local.ts",
        "corp": "@corp/auth",
        "prefixed": "@corp/plugins/prefixed.ts",
        "named": "./plugins/named.ts",
        "cls": "./plugins/cls.ts",
        "fileurl": "FILE_URL",
      } },
    }`,
    "plugins/local.ts": PLUGIN_MODULE,
    "vendor/corp.ts": PLUGIN_MODULE.replace("x-plugin", "x-corp"),
    "vendor/plugins/prefixed.ts": PLUGIN_MODULE.replace(
      "x-plugin",
      "x-prefixed",
    ),
    "plugins/named.ts": "export const createAuthenticator = " +
      PLUGIN_MODULE.replace("export default", "").replace(
        "x-plugin",
        "x-named",
      ),
    "plugins/cls.ts": `export default class {
      headerKey = "x-cls";
      constructor(config) { this.token = config.clientId; }
      getCredentials() { return Promise.resolve({ accessToken: this.token }); }
      refreshCredentials() { return this.getCredentials(); }
    }`,
  });
  const configFile = project.path("deno.jsonc");
  const text = await Deno.readTextFile(configFile);
  await Deno.writeTextFile(
    configFile,
    text.replace("FILE_URL", toFileUrl(project.path("plugins/local.ts")).href),
  );
  const options = { registry: new AuthenticatorRegistry(), configFile };

  const cases: [string, string][] = [
    ["local", "x-plugin"],
    ["LOCAL", "x-plugin"],
    ["corp", "x-corp"],
    ["prefixed", "x-prefixed"],
    ["named", "x-named"],
    ["cls", "x-cls"],
    ["fileurl", "x-plugin"],
  ];
  for (const [mode, headerKey] of cases) {
    await t.step(`"${mode}" resolves against the config file`, async () => {
      const made = await getAuthenticator(
        { authMode: mode, clientId: "me" },
        store,
        options,
      );
      assert.equal(made.headerKey, headerKey);
      assert.equal(
        (await made.getCredentials()).accessToken.endsWith("me"),
        true,
      );
    });
  }

  await t.step(
    "resolveAuthMode() reports the file, specifier and URL",
    async () => {
      const found = await resolveAuthMode("Corp", options);
      assert.equal(found.source, "config");
      assert.ok(found.source === "config");
      assert.equal(found.configFile, configFile);
      assert.equal(found.specifier, "@corp/auth");
      assert.equal(found.url, toFileUrl(project.path("vendor/corp.ts")).href);
    },
  );

  await t.step(
    "the registry wins over discovery for the same name",
    async () => {
      const registry = new AuthenticatorRegistry();
      registry.register("LOCAL", () => fixed("registered"));
      const made = await getAuthenticator({ authMode: "local" }, store, {
        registry,
        configFile,
      });
      assert.equal((await made.getCredentials()).accessToken, "registered");
      assert.equal(
        (await resolveAuthMode("local", { registry, configFile })).source,
        "registry",
      );
    },
  );
});

Deno.test("getAuthenticator() imports a discovered module once across many resolutions", async () => {
  const counter = `__sesameImportCount_${
    crypto.randomUUID().replaceAll("-", "")
  }`;
  await using project = await tempProject({
    "deno.json": JSON.stringify({
      auth: { plugins: { counted: "./counted.ts" } },
    }),
    "counted.ts":
      `globalThis.${counter} = (globalThis.${counter} ?? 0) + 1;\n` +
      PLUGIN_MODULE,
  });
  const options = { configFile: project.path("deno.json") };
  const made = await Promise.all(
    Array.from(
      { length: 50 },
      () => getAuthenticator({ authMode: "counted" }, store, options),
    ),
  );
  for (let i = 0; i < 50; i++) {
    await getAuthenticator({ authMode: "counted" }, store, options);
  }
  const count = (globalThis as Record<string, unknown>)[counter];
  assert.equal(made.length, 50);
  assert.equal(count, 1);
});

Deno.test("getAuthenticator() reports plugin modules that cannot be used", async (t) => {
  await using project = await tempProject({
    "deno.json": JSON.stringify({
      imports: {},
      auth: {
        plugins: {
          missing: "./nope.ts",
          broken: "./broken.ts",
          nofunction: "./nofunction.ts",
          bare: "@not/mapped",
        },
      },
    }),
    "broken.ts": "export default (((;\n",
    "nofunction.ts":
      "export default 42; export const createAuthenticator = 'x';\n",
  });
  const options = { configFile: project.path("deno.json") };
  const load = (mode: string) =>
    getAuthenticator({ authMode: mode }, store, options);

  await t.step(
    "a missing module is a PluginLoadError naming mode, specifier and URL",
    async () => {
      await assert.rejects(load("missing"), (error: unknown) => {
        assert.ok(error instanceof PluginLoadError);
        assert.equal(error.code, "PLUGIN_LOAD_FAILED");
        assert.match(
          error.message,
          /"missing" from "\.\/nope\.ts" \(file:\/\/.*nope\.ts\): module not found/,
        );
        return true;
      });
    },
  );

  await t.step("a syntax error is a PluginLoadError that says so", async () => {
    await assert.rejects(load("broken"), (error: unknown) => {
      assert.ok(error instanceof PluginLoadError);
      assert.match(error.message, /"broken".*does not parse/);
      return true;
    });
  });

  await t.step(
    "a module exporting no function is a PluginContractError",
    async () => {
      await assert.rejects(load("nofunction"), (error: unknown) => {
        assert.ok(error instanceof PluginContractError);
        assert.match(
          error.message,
          /no default export or "createAuthenticator"/,
        );
        return true;
      });
    },
  );

  await t.step(
    "a bare specifier missing from imports is a PluginLoadError",
    async () => {
      await assert.rejects(load("bare"), (error: unknown) => {
        assert.ok(error instanceof PluginLoadError);
        assert.match(error.message, /"@not\/mapped".*no entry in "imports"/);
        return true;
      });
    },
  );
});

Deno.test("getAuthenticator() throws UnknownAuthModeError naming every name it knows", async (t) => {
  await using project = await tempProject({
    "deno.json": JSON.stringify({ auth: { plugins: { gcp: "./gcp.ts" } } }),
  });
  const registry = new AuthenticatorRegistry();
  registry.register("corp", () => fixed("x"));

  await t.step("with a config file", async () => {
    await assert.rejects(
      getAuthenticator({ authMode: "Nope" }, store, {
        registry,
        configFile: project.path("deno.json"),
      }),
      (error: unknown) => {
        assert.ok(error instanceof UnknownAuthModeError);
        assert.equal(error.code, "UNKNOWN_AUTH_MODE");
        assert.equal(error.mode, "nope");
        for (
          const name of [
            "nope",
            "deviceflow",
            "corp",
            "gcp",
            project.path("deno.json"),
            "registerAuthenticatorPlugin",
          ]
        ) {
          assert.ok(error.message.includes(name), `message names ${name}`);
        }
        return true;
      },
    );
  });

  await t.step("with discovery off", async () => {
    await assert.rejects(
      resolveAuthMode("gcp", { registry, configFile: false }),
      /discovery is off/,
    );
  });
});

Deno.test("getAuthenticator() reports a malformed auth.plugins as a ConfigError naming file and key", async (t) => {
  const cases: [string, RegExp][] = [
    ['{ "auth": [] }', /"auth" must be an object/],
    ['{ "auth": { "plugins": "x" } }', /"auth.plugins" must be an object/],
    [
      '{ "auth": { "plugins": { "gcp": 3 } } }',
      /"auth.plugins.gcp".*got number/,
    ],
    [
      '{ "auth": { "plugins": { "gcp": "./a.ts", "GCP": "./b.ts" } } }',
      /same name in another case/,
    ],
    ['{\n  "auth": {\n    "plugins": { "gcp" "./a.ts" }\n  }\n}', /at line 3/],
  ];
  for (const [text, message] of cases) {
    await t.step(text.replaceAll("\n", " "), async () => {
      await using project = await tempProject({ "deno.json": text });
      await assert.rejects(
        getAuthenticator({ authMode: "gcp" }, store, {
          configFile: project.path("deno.json"),
        }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.equal(error.code, "CONFIG_INVALID");
          assert.match(error.message, message);
          assert.ok(error.message.includes(project.path("deno.json")));
          return true;
        },
      );
    });
  }
});

Deno.test("resolveAuthMode() finds deno.json by walking up from the working directory", async () => {
  await using project = await tempProject({
    "deno.json": JSON.stringify({ auth: { plugins: { up: "./up.ts" } } }),
    "a/b/c/.keep": "",
  });
  const mod = toFileUrl(join(import.meta.dirname!, "../../mod.ts")).href;
  const script =
    `const { resolveAuthMode } = await import(${JSON.stringify(mod)});` +
    `console.log(JSON.stringify(await resolveAuthMode("UP")));`;
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "--config",
      join(import.meta.dirname!, "../../deno.json"),
      script,
    ],
    cwd: project.path("a/b/c"),
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const found = JSON.parse(new TextDecoder().decode(output.stdout));
  assert.equal(
    found.configFile,
    await Deno.realPath(project.path("deno.json")),
  );
  assert.equal(
    found.url,
    toFileUrl(join(await Deno.realPath(project.dir), "up.ts")).href,
  );
});

Deno.test("listAuthModes() lists built-in, registered and discovered names with shadowing", async () => {
  await using project = await tempProject({
    "deno.json": JSON.stringify({
      auth: {
        plugins: {
          gcp: "./gcp.ts",
          pkce: "./pkce.ts",
          corp: "./corp.ts",
          bad: "@x/y",
        },
      },
    }),
  });
  const registry = new AuthenticatorRegistry();
  registry.register("corp", function corpFactory() {
    return fixed("x");
  });
  const modes = await listAuthModes({
    registry,
    configFile: project.path("deno.json"),
  });
  const byKey = new Map(modes.map((m) => [`${m.source}:${m.mode}`, m]));

  assert.equal(
    byKey.get("builtin:deviceflow")?.target,
    "DeviceCodeAuthenticator",
  );
  assert.equal(byKey.get("registry:corp")?.target, "corpFactory");
  assert.equal(
    byKey.get("config:gcp")?.url,
    toFileUrl(project.path("gcp.ts")).href,
  );
  assert.equal(byKey.get("config:pkce")?.shadowedBy, "builtin");
  assert.equal(byKey.get("config:corp")?.shadowedBy, "registry");
  assert.match(byKey.get("config:bad")?.error ?? "", /no entry in "imports"/);
  assert.equal(modes.filter((m) => m.source === "builtin").length, 8);
});

Deno.test("getAuthenticator() rejects arguments of the wrong type with TypeError", async () => {
  await assert.rejects(
    getAuthenticator(null as unknown as PlatformConfig, store),
    TypeError,
  );
  await assert.rejects(
    getAuthenticator({}, {} as StaticClientConfigStore),
    TypeError,
  );
  await assert.rejects(
    getAuthenticator({ authMode: 3 as unknown as string }, store),
    TypeError,
  );
});

Deno.test("getAuthenticator() names the Deno flag when a plugin module may not be read", async () => {
  await using project = await tempProject({
    "app/deno.json": JSON.stringify({
      auth: { plugins: { far: "../elsewhere/plugin.ts" } },
    }),
    "elsewhere/plugin.ts": PLUGIN_MODULE,
  });
  const root = join(import.meta.dirname!, "../..");
  const script = `
    const { getAuthenticator, StaticClientConfigStore } = await import(${
    JSON.stringify(toFileUrl(join(root, "mod.ts")).href)
  });
    const store = new StaticClientConfigStore(${
    JSON.stringify(await store.getClientConfig())
  });
    try {
      await getAuthenticator({ authMode: "far" }, store, {
        configFile: ${JSON.stringify(project.path("app/deno.json"))},
      });
      console.log("loaded");
    } catch (error) {
      console.log(JSON.stringify({ name: error.name, code: error.code, message: error.message }));
    }`;
  const main = project.path("main.ts");
  await Deno.writeTextFile(main, script);
  // Read access to sesame and the app's folder only, not to the plugin's.
  // (`deno eval` would not do: it does not check dynamic imports.)
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      join(root, "deno.json"),
      `--allow-read=${root},${project.path("app")}`,
      main,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const printed = new TextDecoder().decode(output.stdout).trim();

  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const error = JSON.parse(printed);
  assert.equal(error.code, "PLUGIN_LOAD_FAILED");
  assert.match(
    error.message,
    /"far" from "\.\.\/elsewhere\/plugin\.ts".*permission denied; run Deno with --allow-read/,
  );
});
