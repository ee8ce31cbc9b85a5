diff --git a/kerastorch/losses.py b/kerastorch/losses.py
index c778428..1728862 100644
--- a/kerastorch/losses.py
+++ b/kerastorch/losses.py
@@ -62,6 +80,30 @@ def reduce_weighted(values: torch.Tensor, sample_weight: torch.Tensor | None, re
 
 
+def output_mask(y_pred: Any) -> torch.Tensor | None:
+    """The Keras mask a model attached to its output (`y_pred._keras_mask`), or None."""
+    return y_pred.__dict__.get("_keras_mask") if isinstance(y_pred, torch.Tensor) else None
+
+
+def apply_mask(sample_weight: Any, mask: torch.Tensor, like: torch.Tensor, reduction: str | None) -> torch.Tensor:
+    """Fold an output mask into the sample weights as Keras does: masked entries weigh 0, and for
+    mean reductions the others weigh `total / valid`, so the mean runs over valid entries only."""
+    weight = mask.to(like.dtype if like.is_floating_point() else torch.float32)
+    if reduction in ("mean", "sum_over_batch_size"):
+        valid = weight.sum()
+        weight = weight * torch.where(valid > 0, weight.numel() / valid.clamp_min(1), 0.0)
+    if sample_weight is None:
+        return weight
+    sample_weight = _float(sample_weight, weight)
+    weight, sample_weight = same_rank(weight, sample_weight)
+    while sample_weight.ndim < weight.ndim:  # per-sample weights spread over the masked steps
+        sample_weight = sample_weight.unsqueeze(-1)
+    return weight * sample_weight
+
+
 class Loss:
-    """Base class: subclasses implement `call(y_true, y_pred)` returning per-sample values."""
+    """Base class: subclasses implement `call(y_true, y_pred)` returning per-sample values.
+
+    When `y_pred` carries a Keras mask (a masked model's output), masked entries do not count.
+    """
 
     def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size", dtype: Any = None):
@@ -76,4 +118,7 @@ class Loss:
     def __call__(self, y_true: Any, y_pred: torch.Tensor, sample_weight: Any = None) -> torch.Tensor:
         y_pred = torch.as_tensor(y_pred)
+        mask = output_mask(y_pred)
+        if mask is not None:
+            sample_weight = apply_mask(sample_weight, mask, y_pred, self.reduction)
         if not y_pred.is_floating_point():
             y_pred = y_pred.float()
@@ -327,5 +487,6 @@ class SparseCategoricalCrossentropy(LossFunctionWrapper):
                 "sum_over_batch_size", "mean") and isinstance(y_pred, torch.Tensor) and y_pred.ndim == 2
                 and y_pred.dtype == torch.float32 and isinstance(y_true, torch.Tensor) and y_true.ndim == 1
-                and not y_true.is_floating_point() and y_true.shape[0] == y_pred.shape[0]):
+                and not y_true.is_floating_point() and y_true.shape[0] == y_pred.shape[0]
+                and "_keras_mask" not in y_pred.__dict__):
             return F.cross_entropy(y_pred, y_true.long())
         return super().__call__(y_true, y_pred, sample_weight)
