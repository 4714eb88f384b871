"""Record runs from the trainers people use, with no change to their training code beyond one
callback: Hugging Face's `Trainer` (`hf`) and Lightning (`lightning`), both with the planned
curve their schedulers will follow (`plan`).

Beyond what their TensorBoard files hold, the callbacks record the planned LR curve, regime
marks and validation losses, so `lrtui watch` shows the schedule ahead of the training.
Each module imports its trainer library when it is imported, never before.
"""
