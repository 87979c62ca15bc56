// How the legacy report selects a window's rows, in a module of its own so the source descriptor can say it
// without loading the reader (and its XML parser) at start.
import type { WindowSelection } from "../../types.js";

/**
 * Microsoft ties the report's StartDate/EndDate to a message's first and last processing steps, not to
 * Received (docs §5): a window's answer can hold rows received before it (still being processed) and lack
 * rows received at its end (processed after it). Every row is kept; dedupe removes the overlap. Identities are
 * remembered this much longer, so a row that two windows return hours apart is still recognised.
 */
export const RWS_WINDOW_SELECTION: WindowSelection = { by: "processing", slackMinutes: 360 };
