// msal-node's network hook: every token/discovery request goes through our undici dispatcher, so the custom
// CA, proxy and TLS settings apply to login exactly as to the data APIs (and tests reach the simulator).
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from "@azure/msal-node";
import type { Dispatcher } from "undici";
import { httpRequest } from "../net/request.js";

export class UndiciNetworkClient implements INetworkModule {
  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly timeoutMs = 60_000,
  ) {}

  sendGetRequestAsync<T>(url: string, options?: NetworkRequestOptions, timeout?: number): Promise<NetworkResponse<T>> {
    return this.send<T>(url, "GET", options, timeout);
  }

  sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.send<T>(url, "POST", options);
  }

  private async send<T>(
    url: string,
    method: "GET" | "POST",
    options?: NetworkRequestOptions,
    timeout?: number,
  ): Promise<NetworkResponse<T>> {
    const res = await httpRequest(url, {
      method,
      headers: options?.headers,
      body: method === "POST" ? (options?.body ?? "") : undefined,
      dispatcher: this.dispatcher,
      timeoutMs: timeout ?? this.timeoutMs,
    });
    let body: T;
    try {
      body = JSON.parse(res.body) as T;
    } catch {
      // A proxy or captive portal answering HTML: say so instead of msal's generic parse error.
      throw new Error(
        `login endpoint answered HTTP ${res.status} with a non-JSON body (${res.headers["content-type"] ?? "no content-type"}); is a proxy intercepting ${new URL(url).host}?`,
      );
    }
    return { status: res.status, headers: res.headers, body };
  }
}
