/**
 * A small fake OAuth server for the cases a real one cannot produce on
 * demand: a 500, HTML, a hang, `slow_down`. It listens on `127.0.0.1`, a
 * port the system picks, records every request, and answers with a handler
 * the test gives.
 *
 * Requires `--allow-net`.
 *
 * @module
 */

/** A request the fake received. */
export interface FakeRequest {
  /** The path, such as `/token`. */
  path: string;
  /** The form body. */
  form: URLSearchParams;
  /** The request headers. */
  headers: Headers;
}

/**
 * Answers a request; `index` counts from 0 over every request, and
 * `control.signal` aborts when the server closes.
 */
export type FakeHandler = (
  request: FakeRequest,
  index: number,
  control: { readonly signal: AbortSignal },
) => Response | Promise<Response>;

/** A running fake. */
export interface FakeOAuthServer extends AsyncDisposable {
  /** `http://127.0.0.1:PORT`. */
  origin: string;
  /** `${origin}/token`. */
  tokenEndpoint: string;
  /** `${origin}/device/auth`. */
  deviceAuthorizationEndpoint: string;
  /** Every request so far. */
  requests: FakeRequest[];
  /** Stops the server; hanging answers end first. */
  close(): Promise<void>;
}

/**
 * Starts a fake OAuth server.
 *
 * @param handler Answers each request.
 * @returns The running server; close it, or declare it with `await using`.
 */
export function serveFakeOAuth(handler: FakeHandler): FakeOAuthServer {
  const requests: FakeRequest[] = [];
  const closing = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      const recorded: FakeRequest = {
        path: new URL(request.url).pathname,
        form: new URLSearchParams(await request.text()),
        headers: request.headers,
      };
      const index = requests.push(recorded) - 1;
      // Not request.signal: Deno warns when a test reads it.
      return await handler(recorded, index, { signal: closing.signal });
    },
  );
  const origin = `http://127.0.0.1:${server.addr.port}`;
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      closing.abort();
      await server.shutdown();
    })();
  return {
    origin,
    tokenEndpoint: `${origin}/token`,
    deviceAuthorizationEndpoint: `${origin}/device/auth`,
    requests,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * A token response, JSON.
 *
 * @param body The fields.
 * @param status The status.
 * @returns The response.
 */
export function tokenJson(
  body: Record<string, unknown>,
  status = 200,
): Response {
  return Response.json(body, { status });
}

/**
 * An OAuth error response (RFC 6749 §5.2).
 *
 * @param error The `error` code.
 * @param status The status.
 * @param description The `error_description`.
 * @returns The response.
 */
export function oauthError(
  error: string,
  status = 400,
  description?: string,
): Response {
  return Response.json({ error, error_description: description }, { status });
}

/**
 * Waits until the server closes, then answers.
 *
 * @param control The handler's third argument.
 * @returns A response nobody will read.
 */
export function hang(control: { signal: AbortSignal }): Promise<Response> {
  const signal = control.signal;
  return new Promise((resolve) => {
    const answer = () => resolve(new Response(null, { status: 504 }));
    if (signal.aborted) answer();
    signal.addEventListener("abort", answer, { once: true });
  });
}
