/**
 * The playground at `GET /`: pick a workflow, fill the form generated from its parameter
 * rules, submit, watch progress, see and download the images. Plain DOM, no framework.
 */
import { byId } from "./elements.ts";
import { setupKeyForm } from "./key-form.ts";
import { loadCatalog, resetCatalog, setupPicker } from "./picker.ts";
import { recentJobs, setupRecent } from "./recent.ts";
import { syncRecent } from "./recent-sync.ts";
import { apiKey } from "./store.ts";
import { setupSubmit } from "./submit.ts";
import { cancelJob, showTask } from "./watch.ts";

function init(): void {
  setupKeyForm({
    onKey: () => {
      void loadCatalog();
      void syncRecent();
    },
    onForget: () => resetCatalog("Enter your API key first"),
  });
  setupRecent((taskId) => void showTask(taskId));
  setupPicker();
  setupSubmit();
  byId("cancel").addEventListener("click", () => void cancelJob());
  if (!apiKey()) return;
  void loadCatalog();
  // Pick up where this key left off (here or elsewhere): the newest job, with fresh download links.
  void syncRecent().then(() => {
    const last = recentJobs()[0];
    if (last) void showTask(last.task_id);
  });
}

init();
