import { describe, expect, test } from "vitest";
import { isDeviceFault } from "./outcome.ts";

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
