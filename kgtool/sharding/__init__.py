"""Entity tables sharded by rows over the ranks of ``torch.distributed`` (``distributed.shard_entities``).

``table`` (the sharded representation: fetch rows, push gradients), ``optim`` (row-wise SGD,
Adagrad, Adam), ``checkpoint`` (DCP, resharding), ``ranking`` (filtered ranking without a full
table), ``model``/``task``/``training`` (the KGE model, task and trainer that use them).
"""
