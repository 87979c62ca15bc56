// Reporting Web Service failures → one clear sentence each (docs §2 "failure modes seen in the field").
// The service is a WCF Data Service: errors arrive as OData XML or JSON in the requested format, and
// sometimes not at all — a 200 whose body is the Outlook sign-in page.
import { CollectorError } from "../../errors.js";
import type { HttpResponse } from "../../net/request.js";
import { describeUrl } from "../../net/request.js";
import { classifyBadRequest, classifyCommon, tokenRoles } from "../api-client.js";
import { rejectedRange, REPORT_RANGE_RULES } from "../rejected-range.js";

export const RWS_PERMISSION = "ReportingWebService.Read.All";

const XML_MESSAGE = /<(?:\w+:)?message\b[^>]*>([\s\S]*?)<\/(?:\w+:)?message>/i;

function decodeXmlText(s: string): string {
  return s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&amp;/g, "&");
}

/** The service's own error text from an OData error body (XML, verbose JSON or JSON light), if any. */
export function serviceMessage(body: string): string | undefined {
  const t = body.trim();
  if (t.startsWith("{")) {
    try {
      const o = JSON.parse(t);
      const e = o?.error ?? o?.["odata.error"];
      const m = e?.message;
      const text = typeof m === "string" ? m : m?.value;
      if (typeof text === "string" && text) return text;
      // The report's own shape for a missing role: {"ErrorCode":"","Message":"No permission to access …"}.
      if (typeof o?.Message === "string" && o.Message) return o.Message;
      if (typeof o?.error_description === "string") return o.error_description;
    } catch {
      return undefined;
    }
    return undefined;
  }
  const m = XML_MESSAGE.exec(t);
  return m ? decodeXmlText(m[1]!).trim() : undefined;
}

/** True when the body is an HTML page (the "Sign in to Outlook" page, a proxy's login or error page). */
export function isHtml(res: HttpResponse): boolean {
  const head = res.body.slice(0, 512).trimStart().toLowerCase();
  return /^text\/html/i.test(res.headers["content-type"] ?? "") || head.startsWith("<!doctype html") || head.startsWith("<html");
}

/** The one-sentence error for an HTML page where the report was expected (retried: it is often transient). */
export function htmlPageError(res: HttpResponse, url: string): CollectorError {
  const title = /<title[^>]*>([^<]{0,120})<\/title>/i.exec(res.body)?.[1]?.trim();
  return new CollectorError(
    "transient",
    `the Reporting Web Service at ${describeUrl(url)} answered HTTP ${res.status} with an HTML page${title ? ` ("${title}")` : ""} instead of the MessageTrace report`,
    {
      status: res.status,
      code: "HtmlSignInPage",
      hint: "this means the request was not accepted as an app call: check that the token audience is the rws resource (e.g. https://outlook.office365.com), that source.endpoint ends in /reporting.svc, and that no proxy intercepts the request",
    },
  );
}

function permissionError(status: number, token: string, text: string): CollectorError {
  const roles = tokenRoles(token);
  if (!roles.includes(RWS_PERMISSION)) {
    return new CollectorError(
      "permission",
      `the app lacks the Exchange Online application permission ${RWS_PERMISSION} (token roles: ${roles.join(", ") || "none"}; service said: ${text.slice(0, 160)})`,
      {
        status,
        code: "MissingPermission",
        hint: `add API permission Office 365 Exchange Online → Application → ${RWS_PERMISSION} to the app registration and grant admin consent`,
      },
    );
  }
  return new CollectorError(
    "permission",
    `the app has ${RWS_PERMISSION} but lacks the Entra role Global Reader (or Security Reader) the report needs ("${text.slice(0, 160)}")`,
    {
      status,
      code: "MissingGlobalReaderRole",
      hint: "assign the Global Reader role to the app's service principal (Entra admin center → Roles and administrators → Global Reader → Add assignments); it can take an hour to apply",
    },
  );
}

/** Classify a Reporting Web Service response; undefined for a 2xx (its body is checked by the parser). */
export function classifyRws(res: HttpResponse, url: string, token: string): CollectorError | undefined {
  if (res.status >= 200 && res.status < 300) return undefined;
  const text = serviceMessage(res.body) ?? res.body.slice(0, 200).replace(/\s+/g, " ").trim();
  // The field reports these texts without a reliable status (some arrive as 500): the text decides first,
  // so a missing role is never retried as a server fault.
  const noPermission = /no permission to access the report/i.test(text);
  if (!noPermission) {
    const common = classifyCommon(res, url, "Reporting Web Service");
    if (common) return common;
  }
  const title = /<title[^>]*>([^<]{0,120})<\/title>/i.exec(res.body)?.[1]?.trim();
  if (isHtml(res) && res.status === 401 && /401|unauthori[sz]ed|access is denied/i.test(title ?? "")) {
    // IIS's own page for a refused credential (seen in the field, docs §5): an auth failure, not a glitch.
    return new CollectorError("auth", `the Reporting Web Service refused the credentials (HTTP 401${title ? `: "${title}"` : ""})`, {
      status: 401,
      code: "InvalidCredentials",
      hint: "a freshly fetched token was refused too: check the tenant id, the app's credential, and that the token audience is the cloud's rws resource (e.g. https://outlook.office365.com)",
    });
  }
  if (isHtml(res)) {
    // An HTML page with a 4xx is usually a login redirect target; treat it like the 200 sign-in page.
    return htmlPageError(res, url);
  }
  if (noPermission || res.status === 403) return permissionError(res.status, token, text);
  if (/authorization code or refresh token has expired/i.test(text)) {
    return new CollectorError(
      "auth",
      `the sign-in behind this collector has expired: the authorization code or refresh token is no longer valid (HTTP ${res.status})`,
      {
        status: res.status,
        code: "RefreshTokenExpired",
        hint: "run `o365-message-trace login-url` and `auth-code CODE` again, or switch to an app credential (client secret or certificate)",
      },
    );
  }
  if (res.status === 401) {
    return new CollectorError("auth", `the Reporting Web Service rejected the access token (HTTP 401: ${text.slice(0, 160)})`, {
      status: 401,
      code: "InvalidToken",
      hint: "a freshly fetched token was refused too, so it is bad rather than merely expired: check the system clock, the tenant id, and that the cloud's rws resource is the token audience (e.g. https://outlook.office365.com)",
    });
  }
  if (res.status === 404) {
    return new CollectorError("config", `the Reporting Web Service has no MessageTrace report at ${describeUrl(url)} (HTTP 404)`, {
      status: 404,
      hint: "check source.endpoint (…/ecp/reportingwebservice/reporting.svc) and the cloud setting",
    });
  }
  if (res.status === 400) {
    const range = () => rejectedRange("the Reporting Web Service", url, res.status, text, REPORT_RANGE_RULES);
    return classifyBadRequest(res, url, "Reporting Web Service", text, range)!;
  }
  return new CollectorError("config", `the Reporting Web Service rejected the query (HTTP ${res.status}: ${text.slice(0, 200)})`, {
    status: res.status,
    hint: "the report covers only the last 10 days and at most 10 days per query: check start and window",
  });
}
