// Graph message trace errors in an operator's words: which permission, which service principal, which limit.
// Shared by the list call (graph-source.ts) and the detail call (details.ts).
import { CollectorError } from "../../errors.js";
import type { HttpResponse } from "../../net/request.js";
import { classifyBadRequest, classifyCommon, tokenRoles } from "../api-client.js";
import { GRAPH_RANGE_RULES, rejectedRange } from "../rejected-range.js";

export const GRAPH_PERMISSION = "ExchangeMessageTrace.Read.All";
export const MESSAGE_TRACE_SP_APP_ID = "8bd644d1-64a1-4d4b-ae52-2e0cbf64e373";

function graphError(res: HttpResponse): { code?: string; message?: string } {
  try {
    const e = JSON.parse(res.body)?.error;
    return { code: e?.code, message: e?.message };
  } catch {
    return {};
  }
}

export function classifyGraph(res: HttpResponse, url: string, token: string): CollectorError | undefined {
  if (res.status >= 200 && res.status < 300) return undefined;
  const common = classifyCommon(res, url, "Graph");
  if (common) return common;
  const { code, message } = graphError(res);
  const text = `${code ?? ""}: ${message ?? res.body.slice(0, 200)}`;
  if (res.status === 401 && /service ?principal/i.test(text)) {
    return new CollectorError(
      "permission",
      `the Exchange message trace service principal (app ${MESSAGE_TRACE_SP_APP_ID}) is not provisioned in this tenant`,
      {
        status: 401,
        code: "ServicePrincipalNotFound",
        hint: `create it (New-MgServicePrincipal -AppId ${MESSAGE_TRACE_SP_APP_ID}); provisioning can take up to 24 h after set-up`,
      },
    );
  }
  if (res.status === 401) {
    return new CollectorError("auth", `Graph rejected the access token (${text.slice(0, 200)})`, {
      status: 401,
      code,
      hint: "check the system clock and that the token audience is Graph; run auth-test",
    });
  }
  if (res.status === 403) {
    const roles = tokenRoles(token);
    const missing = !roles.includes(GRAPH_PERMISSION);
    return new CollectorError(
      "permission",
      missing
        ? `the app lacks the Graph application permission ${GRAPH_PERMISSION} (token roles: ${roles.join(", ") || "none"})`
        : `Graph refused access (HTTP 403: ${text.slice(0, 200)})`,
      {
        status: 403,
        code,
        hint: `add the application permission ${GRAPH_PERMISSION} to the app registration and grant admin consent`,
      },
    );
  }
  if (res.status === 400) {
    const range = () => rejectedRange("Graph", url, res.status, text, GRAPH_RANGE_RULES);
    return classifyBadRequest(res, url, "Graph", text, range)!;
  }
  return new CollectorError("config", `Graph rejected the query (HTTP ${res.status} ${text.slice(0, 300)})`, {
    status: res.status,
    code,
    hint: "message trace covers the last 90 days and at most 10 days per query; check start and window",
  });
}
