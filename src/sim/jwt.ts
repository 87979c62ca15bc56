// Real JWTs: the sim signs access tokens with its own RSA key (published at jwks_uri) and verifies
// certificate client assertions the way Entra does, so clients exercise their real token code paths.
import { X509Certificate, constants, createHash, generateKeyPair, sign, verify, type KeyObject } from "node:crypto";

export type Claims = Record<string, unknown>;

const b64u = (b: Buffer | string) => Buffer.from(b).toString("base64url");
const json64 = (o: unknown) => b64u(JSON.stringify(o));

export function decodeJwt(token: string): { header: Claims; payload: Claims; signed: string; sig: Buffer } | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0]!, "base64url").toString("utf8")) as unknown;
    const payload = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8")) as unknown;
    if (!header || typeof header !== "object" || !payload || typeof payload !== "object") return undefined;
    return {
      header: header as Claims,
      payload: payload as Claims,
      signed: `${parts[0]}.${parts[1]}`,
      sig: Buffer.from(parts[2]!, "base64url"),
    };
  } catch {
    return undefined;
  }
}

export type VerifyResult = { ok: true; claims: Claims } | { ok: false; reason: "malformed" | "signature" | "expired" | "notyet" };

export class TokenSigner {
  private constructor(
    private readonly privateKey: KeyObject,
    private readonly publicKey: KeyObject,
    readonly kid: string,
  ) {}

  static async create(): Promise<TokenSigner> {
    const { privateKey, publicKey } = await new Promise<{ privateKey: KeyObject; publicKey: KeyObject }>((res, rej) =>
      generateKeyPair("rsa", { modulusLength: 2048 }, (e, pub, priv) => (e ? rej(e) : res({ privateKey: priv, publicKey: pub }))),
    );
    const kid = createHash("sha256")
      .update(publicKey.export({ type: "spki", format: "der" }))
      .digest("base64url")
      .slice(0, 27);
    return new TokenSigner(privateKey, publicKey, kid);
  }

  sign(payload: Claims): string {
    const signed = `${json64({ typ: "JWT", alg: "RS256", kid: this.kid })}.${json64(payload)}`;
    return `${signed}.${b64u(sign("sha256", Buffer.from(signed), this.privateKey))}`;
  }

  /** Signature and lifetime (real wall clock: token expiry is about the client, not about data time). */
  verify(token: string, nowSec = Math.floor(Date.now() / 1000)): VerifyResult {
    const d = decodeJwt(token);
    if (!d || d.header.alg !== "RS256") return { ok: false, reason: "malformed" };
    if (!verify("sha256", Buffer.from(d.signed), this.publicKey, d.sig)) return { ok: false, reason: "signature" };
    const exp = Number(d.payload.exp);
    const nbf = Number(d.payload.nbf ?? 0);
    if (!Number.isFinite(exp) || exp <= nowSec) return { ok: false, reason: "expired" };
    if (nbf > nowSec + 300) return { ok: false, reason: "notyet" };
    return { ok: true, claims: d.payload };
  }

  jwks(): unknown {
    const jwk = this.publicKey.export({ format: "jwk" });
    return { keys: [{ kty: "RSA", use: "sig", kid: this.kid, n: jwk.n, e: jwk.e }] };
  }
}

/**
 * Check a certificate client assertion (RFC 7523) against the app's registered certificate.
 * Returns undefined when valid, else the reason Entra would give inside AADSTS700027.
 */
export function checkClientAssertion(assertion: string, certPem: string, clientId: string, audiences: string[]): string | undefined {
  const d = decodeJwt(assertion);
  if (!d) return "Client assertion is not a valid JWT.";
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return "The registered certificate could not be read.";
  }
  const x5t = d.header.x5t;
  const x5t256 = d.header["x5t#S256"];
  const sha1 = createHash("sha1").update(cert.raw).digest("base64url");
  const sha256 = createHash("sha256").update(cert.raw).digest("base64url");
  if (!(x5t === sha1 || x5t256 === sha256)) {
    return `Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '${String(x5t ?? x5t256)}']`;
  }
  const alg = d.header.alg;
  let ok: boolean;
  try {
    if (alg === "RS256") ok = verify("sha256", Buffer.from(d.signed), cert.publicKey, d.sig);
    else if (alg === "PS256")
      ok = verify(
        "sha256",
        Buffer.from(d.signed),
        { key: cert.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
        d.sig,
      );
    else return `Client assertion uses unsupported algorithm '${String(alg)}'.`;
  } catch {
    ok = false;
  }
  if (!ok)
    return "Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value.]";
  const p = d.payload;
  const now = Math.floor(Date.now() / 1000);
  if (p.iss !== clientId || p.sub !== clientId) return "Client assertion 'iss' and 'sub' must be the client id.";
  const aud = String(p.aud ?? "").split("?")[0];
  if (!audiences.includes(aud!))
    return `Client assertion audience claim does not match Realm issuer. Review the documentation at https://aka.ms/certCredentials. Audience: '${aud}'.`;
  if (!Number.isFinite(Number(p.exp)) || Number(p.exp) <= now - 300) return "Client assertion is expired.";
  return undefined;
}
