import { describe, expect, test } from "vitest";
import { isDeviceFault, producedFiles } from "./outcome.ts";

describe("isDeviceFault", () => {
  test("CUDA errors of any PyTorch are the device's fault", () => {
    expect(isDeviceFault({ exception_type: "torch.AcceleratorError", exception_message: "CUDA error: an illegal memory access was encountered" })).toBe(true);
    expect(isDeviceFault({ exception_type: "RuntimeError", exception_message: "CUDA error: unspecified launch failure" })).toBe(true);
    expect(isDeviceFault({ exception_type: "RuntimeError", exception_message: "cuDNN error: CUDNN_STATUS_INTERNAL_ERROR" })).toBe(true);
  });

  test("a graph's own mistakes and out-of-memory are not", () => {
    expect(isDeviceFault({ exception_type: "RuntimeError", exception_message: "The size of tensor a (64) must match the size of tensor b (128) at non-singleton dimension 3" })).toBe(false);
    expect(isDeviceFault({ exception_type: "torch.OutOfMemoryError", exception_message: "Allocation on device " })).toBe(false);
    expect(isDeviceFault({ exception_type: "FileNotFoundError", exception_message: "Model in folder 'checkpoints' with filename 'x' not found." })).toBe(false);
  });
});

describe("producedFiles", () => {
  test("marks the files of a node that says animated: [true], and only those, skipping the flag itself", () => {
    const files = producedFiles({
      "6": { images: [{ filename: "anim_00001_.webp", subfolder: "", type: "output" }], animated: [true] },
      "7": { images: [{ filename: "still_00001_.webp", subfolder: "", type: "output" }], animated: [false] },
      "8": { images: [{ filename: "p_00001_.png", subfolder: "", type: "output" }] },
    });
    expect(files).toEqual([
      { node_id: "6", key: "images", filename: "anim_00001_.webp", subfolder: "", type: "output", animated: true },
      { node_id: "7", key: "images", filename: "still_00001_.webp", subfolder: "", type: "output" },
      { node_id: "8", key: "images", filename: "p_00001_.png", subfolder: "", type: "output" },
    ]);
  });
});
