"""Forgetting: how much of the source task a fine-tuned network still knows.

    scores = source_accuracy(model, source_head, source_test_loader)
    scores["accuracy"]                 source head back on, BatchNorm statistics as fine-tuning left them
    scores["recalibrated_accuracy"]    the same after re-estimating BatchNorm statistics on source images

Put the source head back on the fine-tuned backbone and measure the source test set. Reported
twice, because without the recalibration even a tiny learning rate looks catastrophic: BatchNorm's
running statistics followed the target images during fine-tuning (they are not weights and no
learning rate slows them down). ``nn.utils.recalibrate_bn`` re-estimates them on source images;
what is lost after that is what the weights forgot. The model is left exactly as it was (its own
head, its own statistics). ``source_head``: the pretrained Linear, e.g.
``minitl.weights.source_model("fashion-paired").head``.
"""
from ..nn.utils.batchnorm import recalibrate_bn as reestimate_bn
from ..train.loop import evaluate


def source_accuracy(model, source_head, source_loader, recalibrate_bn=True, calibration_loader=None,
                    calibration_batches=None):
    """``{"accuracy": a, "recalibrated_accuracy": b or None, "samples": n}`` of ``model`` with ``source_head``.

    ``calibration_loader``: source images to re-estimate BatchNorm on (default: ``source_loader``;
    use source *training* images to keep the test set clean). The model is restored afterwards.
    """
    own_head = model.head
    saved = {name: array.copy() for name, array in model.state_dict().items()}
    try:
        model.head = source_head
        plain = evaluate(model, source_loader)
        result = {"accuracy": plain["accuracy"], "recalibrated_accuracy": None, "samples": plain["samples"]}
        if recalibrate_bn:
            reestimate_bn(model, calibration_loader or source_loader, batches=calibration_batches)
            result["recalibrated_accuracy"] = evaluate(model, source_loader)["accuracy"]
        return result
    finally:
        model.head = own_head
        model.load_state_dict(saved)
