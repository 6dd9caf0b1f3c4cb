/**
 * Constants shared by the probe (which tags records before a heap snapshot) and the collector (which
 * finds them). Kept apart so that the preload does not load the snapshot code.
 */

/** Prefix of the string a tagged registry record holds in its `tag` property. */
export const TAG_PREFIX = 'leak-agent:handle:';

/** How many handles of one finding are tagged for the snapshot (the path is shown for the first). */
export const SAMPLES_PER_FINDING = 200;
