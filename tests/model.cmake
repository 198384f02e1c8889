# model: GPT layers, whole-model gradients against finite differences, optimizer, training.
oo_unit_test(NAME test_gpt_grad SOURCES test_gpt_grad.c LABELS model)
oo_unit_test(NAME test_gpt_train SOURCES test_gpt_train.c LABELS model)
# the single-process optimizer step (schedule, clip given a norm, AdamW) against hand-worked values
oo_unit_test(NAME test_optim SOURCES test_optim.c LABELS model)
# kern_expf, the kernels' exp approximation: max relative error over [-87, 88] against exp.
oo_unit_test(NAME test_kern_expf SOURCES test_kern_expf.c LABELS model)
