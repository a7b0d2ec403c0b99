/**
 * The one IPC channel that is not a contract `invoke` channel: engine events pushed from main to the
 * window (`webContents.send(EVENT_CHANNEL, name, payload)`). Shared by main and the preload.
 */
export const EVENT_CHANNEL = 'sgai:event';
