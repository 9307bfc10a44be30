import { ngiVariant } from '../lib/helpers.ts';

/**
 * NGI with ws framing its WebSocket messages (`--websocket-framing ws`) instead of its own
 * (src/ws/, the default since session 7), so the two framings are compared in one run.
 */
export default ngiVariant('ngi-ws-framing', 'NGI, ws framing (ngi serve --websocket-framing ws)', ['ws-h1', 'ws-h2'], ['--websocket-framing', 'ws']);
