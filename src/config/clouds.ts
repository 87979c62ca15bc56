// National clouds: which hosts serve login, Graph and the legacy reporting service.
// Source: ../shared/docs/message-trace-apis.md §3. Graph message trace exists only in the global service.

export type CloudName = "global" | "gcc" | "gcc-high" | "dod" | "china";

export interface CloudEndpoints {
  login: string;
  graph: string;
  /** Reporting web service base (…/reporting.svc). */
  rws: string;
  /** Resource (token audience) for the reporting web service. */
  rwsResource: string;
  graphResource: string;
  /** Whether Graph offers message trace in this cloud. */
  graphMessageTrace: boolean;
}

const GLOBAL: CloudEndpoints = {
  login: "https://login.microsoftonline.com",
  graph: "https://graph.microsoft.com",
  graphResource: "https://graph.microsoft.com",
  rws: "https://reports.office365.com/ecp/reportingwebservice/reporting.svc",
  rwsResource: "https://outlook.office365.com",
  graphMessageTrace: true,
};

export const CLOUDS: Record<CloudName, CloudEndpoints> = {
  global: GLOBAL,
  // GCC uses the commercial endpoints.
  gcc: GLOBAL,
  "gcc-high": {
    login: "https://login.microsoftonline.us",
    graph: "https://graph.microsoft.us",
    graphResource: "https://graph.microsoft.us",
    rws: "https://reports.office365.us/ecp/reportingwebservice/reporting.svc",
    rwsResource: "https://outlook.office365.us",
    graphMessageTrace: false,
  },
  dod: {
    login: "https://login.microsoftonline.us",
    graph: "https://dod-graph.microsoft.us",
    graphResource: "https://dod-graph.microsoft.us",
    // unverified in the docs: override with source.endpoint when your tenant uses another host.
    rws: "https://webmail.apps.mil/ecp/reportingwebservice/reporting.svc",
    rwsResource: "https://webmail.apps.mil",
    graphMessageTrace: false,
  },
  china: {
    login: "https://login.chinacloudapi.cn",
    graph: "https://microsoftgraph.chinacloudapi.cn",
    graphResource: "https://microsoftgraph.chinacloudapi.cn",
    // unverified in the docs: override with source.endpoint when needed.
    rws: "https://reports.partner.outlook.cn/ecp/reportingwebservice/reporting.svc",
    rwsResource: "https://partner.outlook.cn",
    graphMessageTrace: false,
  },
};
