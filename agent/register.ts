/**
 * `node --import leak-agent/register app.mjs`: the same preload as `--require leak-agent`.
 */
import './index';
