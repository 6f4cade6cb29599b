import assert from "node:assert/strict";
import { create, createFileRegistry, type Message } from "@bufbuild/protobuf";
import type { GenMessage, GenService } from "@bufbuild/protobuf/codegenv2";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";
import {
  Code,
  ConnectError,
  createClient,
  createRouterTransport,
} from "@connectrpc/connect";
import { CountingAuthenticator } from "../support/counting_authenticator.ts";
import { createAuthInterceptor } from "../../src/transport/auth_interceptor.ts";

// message Text { string text = 1; }
// service EchoService { rpc Echo(Text) returns (Text); }
const registry = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "test/echo.proto",
    package: "test",
    syntax: "proto3",
    messageType: [{
      name: "Text",
      field: [{
        name: "text",
        jsonName: "text",
        number: 1,
        type: FieldDescriptorProto_Type.STRING,
        label: FieldDescriptorProto_Label.OPTIONAL,
      }],
    }],
    service: [{
      name: "EchoService",
      method: [{
        name: "Echo",
        inputType: ".test.Text",
        outputType: ".test.Text",
      }],
    }],
  }),
  () => undefined,
);
type Text = Message<"test.Text"> & { text: string };
const TextSchema = registry.getMessage("test.Text") as GenMessage<Text>;
const EchoService = registry.getService("test.EchoService") as GenService<{
  echo: {
    methodKind: "unary";
    input: typeof TextSchema;
    output: typeof TextSchema;
  };
}>;

/**
 * A client whose server answers the caller's `authorization` header, and
 * rejects every header but `accepted` with `rejectWith`.
 */
function echoClient(
  interceptor: ReturnType<typeof createAuthInterceptor>,
  accepted: string,
  rejectWith = Code.Unauthenticated,
) {
  const seen: (string | null)[] = [];
  const transport = createRouterTransport(({ service }) => {
    service(EchoService, {
      echo(_request, context) {
        const header = context.requestHeader.get("authorization");
        seen.push(header);
        if (header !== accepted) throw new ConnectError("rejected", rejectWith);
        return {
          text: `${header}|${context.requestHeader.get("proxy-authorization")}`,
        };
      },
    });
  }, { transport: { interceptors: [interceptor] } });
  return { client: createClient(EchoService, transport), seen };
}

Deno.test("createAuthInterceptor() authenticates Connect calls", async (t) => {
  await t.step("sets the token and the proxy token on a call", async () => {
    const interceptor = createAuthInterceptor(new CountingAuthenticator(), {
      proxyAuthenticator: new CountingAuthenticator("proxy", {
        headerKey: "proxy-authorization",
      }),
    });
    const { client } = echoClient(interceptor, "Bearer token-1");

    const response = await client.echo({ text: "hi" });

    assert.equal(response.text, "Bearer token-1|Bearer proxy-1");
  });

  await t.step(
    "retries once on Unauthenticated after one refresh",
    async () => {
      const authenticator = new CountingAuthenticator();
      const { client, seen } = echoClient(
        createAuthInterceptor(authenticator),
        "Bearer token-2",
      );

      const response = await client.echo({ text: "hi" });

      assert.equal(response.text, "Bearer token-2|null");
      assert.deepEqual(seen, ["Bearer token-1", "Bearer token-2"]);
      assert.equal(authenticator.fetches, 2);
    },
  );

  await t.step("gives up after the second Unauthenticated", async () => {
    const authenticator = new CountingAuthenticator();
    const { client, seen } = echoClient(
      createAuthInterceptor(authenticator),
      "never",
    );

    const error = await client.echo({ text: "hi" }).catch((e: unknown) => e);

    assert.equal(ConnectError.from(error).code, Code.Unauthenticated);
    assert.equal(seen.length, 2);
    assert.equal(authenticator.fetches, 2);
  });

  await t.step("does not retry on another code", async () => {
    const authenticator = new CountingAuthenticator();
    const { client, seen } = echoClient(
      createAuthInterceptor(authenticator),
      "never",
      Code.PermissionDenied,
    );

    const error = await client.echo({ text: "hi" }).catch((e: unknown) => e);

    assert.equal(ConnectError.from(error).code, Code.PermissionDenied);
    assert.equal(seen.length, 1);
    assert.equal(authenticator.fetches, 1);
  });

  await t.step(
    "concurrent Unauthenticated calls share one refresh",
    async () => {
      const authenticator = new CountingAuthenticator();
      const { client } = echoClient(
        createAuthInterceptor(authenticator),
        "Bearer token-2",
      );

      const responses = await Promise.all(
        Array.from({ length: 20 }, () => client.echo({ text: "hi" })),
      );

      assert.equal(responses.length, 20);
      assert.equal(authenticator.fetches, 2);
    },
  );

  await t.step("needs an authenticator", () => {
    assert.throws(
      () => createAuthInterceptor(null as unknown as CountingAuthenticator),
      (error) =>
        error instanceof TypeError &&
        /must be an Authenticator/.test(error.message),
    );
  });
});
