/**
 * Browser notifications when a batch finishes (the Electron app's main process notifies natively,
 * so this runs only in a browser). Permission is asked once, from a click, and only if the
 * photographer wants notifications.
 */
import type { BatchInfo } from '../../../ipc/schemas';
import { strings } from './strings';

const ASKED_KEY = 'sgai-notify-asked';

export const notificationsSupported = () => typeof Notification !== 'undefined';

export const notificationsDenied = () => notificationsSupported() && Notification.permission === 'denied';

/** Call from a user gesture (the Start button): asks the browser once, ever, for this page. */
export async function askNotificationPermissionOnce(): Promise<void> {
  if (!notificationsSupported() || Notification.permission !== 'default') return;
  if (localStorage.getItem(ASKED_KEY)) return;
  localStorage.setItem(ASKED_KEY, '1');
  try {
    await Notification.requestPermission();
  } catch {
    // Old browsers without the promise form: no notification then.
  }
}

export function notifyBatchFinished(b: BatchInfo): void {
  if (!notificationsSupported() || Notification.permission !== 'granted') return;
  new Notification(strings.notification.title, { body: strings.notification.body(b), tag: `sgai-batch-${b.batchId}` });
}
