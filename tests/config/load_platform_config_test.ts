import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "../../src/errors.ts";
import {
  loadPlatformConfig,
  type LoadPlatformConfigOptions,
  loadPlatformConfigWithSources,
} from "../../src/config/load_platform_config.ts";

const SECRET = "s3cr3t-do-not-show";

const FULL_YAML = `admin:
  endpoint: dns:///flyte.example.com:443
  insecure: false
  insecureSkipVerify: yes
  caCertFilePath: /etc/ca.pem
  httpProxyURL: http://proxy.example.com:3128
  command: [gcloud, auth, print-access-token]
  proxyCommand:
    - iap-token
    - --audience=flyte
  clientId: flytectl
  scopes: [openid, offline]
  authType: Pkce
  audience: https://flyte.example.com
  tokenUrl: https://idp.example.com/token
  authorizationHeader: flyte-authorization
console:
  endpoint: https://console.example.com
`;

const FULL_INI = `[platform]
url = dns:///flyte.example.com:443
insecure = False
insecure_skip_verify = on
ca_cert_file_path = /etc/ca.pem
http_proxy_url = http://proxy.example.com:3128
console_endpoint = https://console.example.com

[credentials]
command = gcloud,auth,print-access-token
proxy_command = iap-token, --audience=flyte
client_id = flytectl
scopes = openid,offline
auth_mode = Pkce
audience = https://flyte.example.com
token_url = https://idp.example.com/token
authorization_header = flyte-authorization
`;

const FULL_ENV = {
  FLYTE_PLATFORM_URL: "dns:///flyte.example.com:443",
  FLYTE_PLATFORM_INSECURE: "0",
  FLYTE_PLATFORM_INSECURE_SKIP_VERIFY: "true",
  FLYTE_PLATFORM_CA_CERT_FILE_PATH: "/etc/ca.pem",
  FLYTE_PLATFORM_HTTP_PROXY_URL: "http://proxy.example.com:3128",
  FLYTE_PLATFORM_CONSOLE_ENDPOINT: "https://console.example.com",
  FLYTE_CREDENTIALS_COMMAND: "gcloud,auth,print-access-token",
  FLYTE_CREDENTIALS_PROXY_COMMAND: "iap-token,--audience=flyte",
  FLYTE_CREDENTIALS_CLIENT_ID: "flytectl",
  FLYTE_CREDENTIALS_SCOPES: "openid,offline",
  FLYTE_CREDENTIALS_AUTH_MODE: "Pkce",
  FLYTE_CREDENTIALS_AUDIENCE: "https://flyte.example.com",
  FLYTE_CREDENTIALS_TOKEN_URL: "https://idp.example.com/token",
  FLYTE_CREDENTIALS_AUTHORIZATION_HEADER: "flyte-authorization",
};

const FULL_CONFIG = {
  endpoint: "flyte.example.com:443",
  insecure: false,
  insecureSkipVerify: true,
  caCertFilePath: "/etc/ca.pem",
  httpProxyUrl: "http://proxy.example.com:3128",
  consoleEndpoint: "https://console.example.com",
  command: ["gcloud", "auth", "print-access-token"],
  proxyCommand: ["iap-token", "--audience=flyte"],
  clientId: "flytectl",
  scopes: ["openid", "offline"],
  authMode: "Pkce",
  audience: "https://flyte.example.com",
  tokenUrl: "https://idp.example.com/token",
  authorizationHeader: "flyte-authorization",
};

/** A fresh directory used as both the working and the home directory. */
async function workspace(
  root: string,
  files: Record<string, string>,
): Promise<string> {
  const dir = await Deno.makeTempDir({ dir: root });
  for (const [name, text] of Object.entries(files)) {
    await Deno.mkdir(join(dir, name, ".."), { recursive: true });
    await Deno.writeTextFile(join(dir, name), text);
  }
  return dir;
}

async function loadIn(
  root: string,
  files: Record<string, string>,
  options: LoadPlatformConfigOptions = {},
) {
  const dir = await workspace(root, files);
  const loaded = await loadPlatformConfigWithSources({
    env: {},
    cwd: dir,
    home: dir,
    ...options,
  });
  return { dir, ...loaded };
}

/** Compares without printing the secret when it fails. */
function assertSecret(actual: string | undefined): void {
  assert.ok(actual === SECRET, "expected the test secret");
}

async function rejection(promise: Promise<unknown>): Promise<ConfigError> {
  const error = await promise.then(() => undefined, (error) => error);
  assert.ok(error instanceof ConfigError, `expected a ConfigError: ${error}`);
  assert.equal(error.code, "CONFIG_INVALID");
  return error;
}

Deno.test("loadPlatformConfig() reads the flytectl YAML config", async (t) => {
  const root = await Deno.makeTempDir();
  try {
    await t.step("reads each admin and console key from YAML", async () => {
      const { dir, config, sources } = await loadIn(root, {
        ".flyte/config.yaml": FULL_YAML,
      });

      assert.deepEqual(config, FULL_CONFIG);
      assert.deepEqual(sources.file, {
        path: join(dir, ".flyte", "config.yaml"),
        format: "yaml",
        foundBy: "home",
      });
      assert.deepEqual(sources.settings.clientId, {
        kind: "file",
        path: join(dir, ".flyte", "config.yaml"),
        key: "admin.clientId",
        line: 11,
        secret: false,
      });
    });

    await t.step("reads admin.endpoint from YAML without dns:///", async () => {
      const { config } = await loadIn(root, {
        "c.yaml": "admin:\n  endpoint: dns:///localhost:30080\n",
      }, { path: "c.yaml" });

      assert.equal(config.endpoint, "localhost:30080");
    });

    await t.step("reads a comma-separated string as a YAML list", async () => {
      const { config } = await loadIn(root, {
        "c.yml": "admin:\n  scopes: 'openid, all'\n  command: token-cli\n",
      }, { path: "c.yml" });

      assert.deepEqual(config.scopes, ["openid", "all"]);
      assert.deepEqual(config.command, ["token-cli"]);
    });

    await t.step("reads an empty YAML file as no settings", async () => {
      const { config, sources } = await loadIn(root, { "c.yaml": "" }, {
        path: "c.yaml",
      });

      assert.deepEqual(config, {});
      assert.equal(sources.file?.format, "yaml");
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadPlatformConfig() reads the flytekit INI config", async (t) => {
  const root = await Deno.makeTempDir();
  try {
    await t.step(
      "reads each [platform] and [credentials] key from INI",
      async () => {
        const { dir, config, sources } = await loadIn(root, {
          "flytekit.config": FULL_INI,
        });

        assert.deepEqual(config, FULL_CONFIG);
        assert.equal(sources.file?.path, join(dir, "flytekit.config"));
        assert.deepEqual(sources.settings.authMode, {
          kind: "file",
          path: join(dir, "flytekit.config"),
          key: "credentials.auth_mode",
          line: 14,
          secret: false,
        });
      },
    );

    await t.step(
      "reads [DEFAULT], continuation lines and comments in INI",
      async () => {
        const { config } = await loadIn(root, {
          ".flyte/config": [
            "# a comment",
            "[DEFAULT]",
            "client_id = shared",
            "[credentials]",
            "; another comment",
            "Scopes: openid,",
            "  offline",
          ].join("\n"),
        });

        assert.equal(config.clientId, "shared");
        assert.deepEqual(config.scopes, ["openid", "offline"]);
      },
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadPlatformConfig() reads FLYTE_* variables", async (t) => {
  const root = await Deno.makeTempDir();
  try {
    await t.step("reads each FLYTE_* variable", async () => {
      const { config, sources } = await loadIn(root, {}, { env: FULL_ENV });

      assert.deepEqual(config, FULL_CONFIG);
      assert.equal(sources.file, undefined);
      assert.deepEqual(sources.settings.command, {
        kind: "env",
        name: "FLYTE_CREDENTIALS_COMMAND",
        secret: false,
      });
    });

    await t.step(
      "accepts true/false/1/0/yes/no/on/off in any case",
      async () => {
        const read = async (text: string) =>
          (await loadPlatformConfig({
            env: { FLYTE_PLATFORM_INSECURE: text },
            cwd: root,
            home: root,
          })).insecure;

        for (const text of ["true", "1", "YES", "On"]) {
          assert.equal(await read(text), true, text);
        }
        for (const text of ["False", "0", "no", "OFF"]) {
          assert.equal(await read(text), false, text);
        }
      },
    );

    await t.step(
      "reads the process environment without options.env",
      async () => {
        const name = "FLYTE_CREDENTIALS_AUDIENCE";
        const previous = Deno.env.get(name);
        Deno.env.set(name, "from-the-process");
        try {
          const config = await loadPlatformConfig({ cwd: root, home: root });
          assert.equal(config.audience, "from-the-process");
        } finally {
          if (previous === undefined) Deno.env.delete(name);
          else Deno.env.set(name, previous);
        }
      },
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadPlatformConfig() follows flytekit's precedence", async (t) => {
  const root = await Deno.makeTempDir();
  const yaml = (clientId: string) => `admin:\n  clientId: ${clientId}\n`;
  const ini = (clientId: string) => `[credentials]\nclient_id = ${clientId}\n`;
  try {
    await t.step("an environment variable wins over the file", async () => {
      const { config, sources } = await loadIn(root, {
        "flytekit.config": `${ini("from-file")}audience = file-audience\n`,
      }, { env: { FLYTE_CREDENTIALS_CLIENT_ID: "from-env" } });

      assert.equal(config.clientId, "from-env");
      assert.equal(config.audience, "file-audience");
      assert.equal(sources.settings.clientId?.kind, "env");
    });

    await t.step("an empty variable does not hide the file", async () => {
      const { config } = await loadIn(
        root,
        { "flytekit.config": ini("kept") },
        {
          env: { FLYTE_CREDENTIALS_CLIENT_ID: "" },
        },
      );

      assert.equal(config.clientId, "kept");
    });

    await t.step("options.path wins over FLYTECTL_CONFIG", async () => {
      const { config, sources } = await loadIn(root, {
        "chosen.yaml": yaml("chosen"),
        "env.yaml": yaml("env"),
      }, { path: "chosen.yaml", env: { FLYTECTL_CONFIG: "env.yaml" } });

      assert.equal(config.clientId, "chosen");
      assert.equal(sources.file?.foundBy, "option");
    });

    await t.step("FLYTECTL_CONFIG wins over ./flytekit.config", async () => {
      const { config, sources } = await loadIn(root, {
        "env.yaml": yaml("env"),
        "flytekit.config": ini("cwd"),
      }, { env: { FLYTECTL_CONFIG: "env.yaml" } });

      assert.equal(config.clientId, "env");
      assert.equal(sources.file?.foundBy, "FLYTECTL_CONFIG");
    });

    await t.step("a missing FLYTECTL_CONFIG file is skipped", async () => {
      const { dir, config, sources } = await loadIn(root, {
        "flytekit.config": ini("cwd"),
      }, { env: { FLYTECTL_CONFIG: "missing.yaml" } });

      assert.equal(config.clientId, "cwd");
      assert.deepEqual(sources.searched, [
        join(dir, "missing.yaml"),
        join(dir, "flytekit.config"),
      ]);
    });

    await t.step("./flytekit.config wins over ~/.flyte/config", async () => {
      const { config } = await loadIn(root, {
        "flytekit.config": ini("cwd"),
        ".flyte/config": ini("home-ini"),
      });

      assert.equal(config.clientId, "cwd");
    });

    await t.step("~/.flyte/config wins over ~/.flyte/config.yaml", async () => {
      const { config, sources } = await loadIn(root, {
        ".flyte/config": ini("home-ini"),
        ".flyte/config.yaml": yaml("home-yaml"),
      });

      assert.equal(config.clientId, "home-ini");
      assert.equal(sources.file?.format, "ini");
    });

    await t.step(
      "reads nothing when there is no file or variable",
      async () => {
        const { config, sources } = await loadIn(root, {});

        assert.deepEqual(config, {});
        assert.equal(sources.searched.length, 3);
      },
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadPlatformConfig() applies flytekit's client secret rules", async (t) => {
  const root = await Deno.makeTempDir();
  try {
    await t.step(
      "the named variable wins over the file and the literal",
      async () => {
        const { config, sources } = await loadIn(root, {
          "secret.txt": "from-file\n",
          "flytekit.config":
            "[credentials]\nclient_secret = literal\nclient_secret_location = secret.txt\nclient_secret_env_var = MY_SECRET\nauth_mode = DeviceFlow\n",
        }, { env: { MY_SECRET: SECRET } });

        assertSecret(config.clientCredentialsSecret);
        assert.equal(config.authMode, "ClientSecret");
        assert.deepEqual(sources.settings.clientCredentialsSecret, {
          kind: "env",
          name: "MY_SECRET",
          namedBy: {
            kind: "file",
            path: join(sources.file!.path),
            key: "credentials.client_secret_env_var",
            line: 4,
            secret: false,
          },
          secret: true,
        });
      },
    );

    await t.step("the trimmed secret file wins over the literal", async () => {
      const { dir, config, sources } = await loadIn(root, {
        "secret.txt": `  ${SECRET}\n`,
      }, {
        env: {
          FLYTE_CREDENTIALS_CLIENT_SECRET: "literal",
          FLYTE_CREDENTIALS_CLIENT_SECRET_LOCATION: "secret.txt",
        },
      });

      assertSecret(config.clientCredentialsSecret);
      assert.equal(
        sources.settings.clientCredentialsSecret?.kind === "secret_file" &&
          sources.settings.clientCredentialsSecret.path,
        join(dir, "secret.txt"),
      );
      assert.ok(!JSON.stringify(sources).includes(SECRET));
    });

    await t.step(
      "a secret file switches admin.authType Pkce to ClientSecret",
      async () => {
        const { config, sources } = await loadIn(root, {
          "secret.txt": SECRET,
          "c.yaml":
            "admin:\n  authType: Pkce\n  clientSecretLocation: secret.txt\n",
        }, { path: "c.yaml" });

        assert.equal(config.authMode, "ClientSecret");
        assert.equal(sources.settings.authMode?.kind, "derived");
      },
    );

    await t.step("a literal secret leaves the auth mode alone", async () => {
      const { config, sources } = await loadIn(root, {}, {
        env: { FLYTE_CREDENTIALS_CLIENT_SECRET: SECRET },
      });

      assertSecret(config.clientCredentialsSecret);
      assert.equal(config.authMode, undefined);
      assert.equal(sources.settings.clientCredentialsSecret?.secret, true);
    });

    await t.step("an unset named variable falls back to the file", async () => {
      const { config, clientSecretEnvVar } = await loadIn(root, {
        "secret.txt": SECRET,
      }, {
        env: {
          FLYTE_CREDENTIALS_CLIENT_SECRET_LOCATION: "secret.txt",
          FLYTE_CREDENTIALS_CLIENT_SECRET_ENV_VAR: "UNSET_SECRET",
        },
      });

      assertSecret(config.clientCredentialsSecret);
      assert.equal(clientSecretEnvVar, "UNSET_SECRET");
    });

    await t.step("an empty secret file neither sets nor switches", async () => {
      const { config } = await loadIn(root, { "secret.txt": "\n" }, {
        env: {
          FLYTE_CREDENTIALS_CLIENT_SECRET_LOCATION: "secret.txt",
          FLYTE_CREDENTIALS_AUTH_MODE: "Pkce",
        },
      });

      assert.equal(config.clientCredentialsSecret, undefined);
      assert.equal(config.authMode, "Pkce");
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("loadPlatformConfig() rejects malformed input", async (t) => {
  const root = await Deno.makeTempDir();
  const load = async (
    files: Record<string, string>,
    options: LoadPlatformConfigOptions = {},
  ) => {
    const dir = await workspace(root, files);
    const error = await rejection(
      loadPlatformConfig({ env: {}, cwd: dir, home: dir, ...options }),
    );
    return { dir, error };
  };
  try {
    await t.step("a YAML syntax error names the file and line", async () => {
      const { dir, error } = await load({
        "c.yaml": `admin:\n  endpoint: x\n  clientId: [${SECRET}\n`,
      }, { path: "c.yaml" });

      assert.match(
        error.message,
        /^Cannot parse the config file ".*c\.yaml" at line \d+/,
      );
      assert.ok(error.message.includes(join(dir, "c.yaml")));
      assert.ok(!error.message.includes(SECRET));
    });

    await t.step(
      "a YAML value of the wrong type names the key and line",
      async () => {
        const { error } = await load({
          "c.yaml": "admin:\n  endpoint: x\n  insecure: maybe\n",
        }, { path: "c.yaml" });

        assert.match(
          error.message,
          /Cannot read "admin\.insecure" in ".*c\.yaml" at line 3: "maybe" is not a boolean/,
        );
      },
    );

    await t.step("a YAML list where a string belongs is rejected", async () => {
      const { error } = await load({
        "c.yaml": "admin:\n  clientId:\n    nested: true\n",
      }, { path: "c.yaml" });

      assert.match(
        error.message,
        /"admin\.clientId" .* line 2: a mapping is not a string/,
      );
    });

    await t.step("a YAML admin that is not a mapping is rejected", async () => {
      const { error } = await load({ "c.yaml": "admin: flyte\n" }, {
        path: "c.yaml",
      });

      assert.match(
        error.message,
        /"admin" in ".*" at line 1: it is a string, not a mapping/,
      );
    });

    await t.step(
      "a YAML top level that is not a mapping is rejected",
      async () => {
        const { error } = await load({ "c.yaml": "- admin\n" }, {
          path: "c.yaml",
        });

        assert.match(error.message, /the top level is not a mapping/);
      },
    );

    await t.step(
      "an INI setting before any section names the line",
      async () => {
        const { error } = await load({
          "flytekit.config": `client_secret = ${SECRET}\n[credentials]\n`,
        });

        assert.match(
          error.message,
          /flytekit\.config" at line 1: a setting comes before/,
        );
        assert.ok(!error.message.includes(SECRET));
      },
    );

    await t.step(
      "an INI line that is not a setting keeps the secret out",
      async () => {
        const { error } = await load({
          "flytekit.config":
            `[credentials]\nclient_id = a\nclient_secret ${SECRET}\n`,
        });

        assert.match(
          error.message,
          /at line 3: the line is not a \[section\] header/,
        );
        assert.ok(!error.message.includes(SECRET));
      },
    );

    await t.step("an INI key given twice names the key and line", async () => {
      const { error } = await load({
        "flytekit.config": "[platform]\nurl = a\nURL = b\n",
      });

      assert.match(
        error.message,
        /at line 3: "url" appears twice in \[platform\]/,
      );
    });

    await t.step(
      "an INI value of the wrong type names the key and line",
      async () => {
        const { error } = await load({
          "flytekit.config": "[platform]\nurl = a\ninsecure = sometimes\n",
        });

        assert.match(
          error.message,
          /Cannot read "platform\.insecure" in ".*flytekit\.config" at line 3: "sometimes" is not a boolean; use true, false/,
        );
      },
    );

    await t.step(
      "a variable of the wrong type names the variable",
      async () => {
        const { error } = await load({}, {
          env: { FLYTE_PLATFORM_INSECURE_SKIP_VERIFY: "2" },
        });

        assert.match(
          error.message,
          /the environment variable "FLYTE_PLATFORM_INSECURE_SKIP_VERIFY": "2" is not a boolean/,
        );
      },
    );

    await t.step(
      "an unreadable secret file names it, the key and the line",
      async () => {
        const { error } = await load({
          "c.yaml":
            "admin:\n  clientId: a\n  clientSecretLocation: missing.txt\n",
        }, {
          path: "c.yaml",
          env: { FLYTE_CREDENTIALS_CLIENT_SECRET: SECRET },
        });

        assert.match(
          error.message,
          /Cannot read the client secret file ".*missing\.txt" named by "admin\.clientSecretLocation" in ".*c\.yaml" at line 3: it does not exist/,
        );
        assert.ok(!error.message.includes(SECRET));
      },
    );

    await t.step("a missing options.path is rejected", async () => {
      const { error } = await load({}, { path: "nowhere.yaml" });

      assert.match(
        error.message,
        /Cannot read the config file ".*nowhere\.yaml": it does not exist/,
      );
    });

    await t.step("an option of the wrong type is a TypeError", async () => {
      await assert.rejects(
        loadPlatformConfig({ path: 42 as unknown as string }),
        (error) =>
          error instanceof TypeError && /options\.path/.test(error.message),
      );
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
