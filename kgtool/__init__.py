"""kgtool: knowledge-graph embeddings and graph neural networks — train, evaluate, predict.

```python
import kgtool
run = kgtool.fit({"model": {"name": "rotate"}, "data": {"dataset": "umls"}})
run.metrics["test"]["mrr"]
run = kgtool.load(run.path)
result = kgtool.search("distmult", "umls", trials=50)   # Optuna: pip install 'kgtool-ml[search]'
```
"""

from kgtool.config import Config
from kgtool.errors import CheckpointError, ConfigError, DataError, KGToolError, TrainingError
from kgtool.hyperparameter_search import search
from kgtool.prediction import Answer, Query
from kgtool.run import Run, fit, load

__all__ = ["Config", "Run", "fit", "load", "search", "Query", "Answer",
           "KGToolError", "DataError", "ConfigError", "CheckpointError", "TrainingError"]
__version__ = "0.1.0"
