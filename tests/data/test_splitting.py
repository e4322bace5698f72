"""Splitting a file: valid/test entities and relations occur in train; the same seed, the same split."""

import pytest
import torch

from kgtool.cli.main import main
from kgtool.data.readers import load_folder
from kgtool.data.splitting import parse_ratios, split_triples
from kgtool.errors import ConfigError


def skewed_triples(n: int = 2000, seed: int = 0) -> torch.Tensor:
    """Many entities seen once or twice (long tail), a few relations seen once, duplicates."""
    g = torch.Generator().manual_seed(seed)
    heads = torch.randint(50, (n,), generator=g)
    tails = (torch.rand(n, generator=g) ** 3 * 900).long()
    relations = (torch.rand(n, generator=g) ** 4 * 30).long()
    triples = torch.stack([heads, relations, tails], dim=1)
    return torch.cat([triples, triples[:100]])


def as_set(triples):
    return {tuple(t) for t in triples.tolist()}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_valid_and_test_only_use_what_train_has(seed):
    triples = skewed_triples(seed=seed)
    parts = split_triples(triples, (0.8, 0.1, 0.1), seed)
    train = parts["train"]
    for split in ("valid", "test"):
        part = parts[split]
        assert set(part[:, [0, 2]].flatten().tolist()) <= set(train[:, [0, 2]].flatten().tolist())
        assert set(part[:, 1].tolist()) <= set(train[:, 1].tolist())
    distinct = as_set(triples)
    assert sum(len(p) for p in parts.values()) == len(distinct)
    assert as_set(parts["train"]) | as_set(parts["valid"]) | as_set(parts["test"]) == distinct
    rare = {e for e in set(triples[:, 2].tolist()) if (triples[:, [0, 2]] == e).sum() == 1}
    assert rare and len(parts["valid"]) == len(parts["test"]) == round(0.1 * len(distinct))


def test_same_seed_same_split_other_seed_other_split():
    triples = skewed_triples()
    a, b, c = (split_triples(triples, (0.7, 0.2, 0.1), seed) for seed in (5, 5, 6))
    assert all(torch.equal(a[s], b[s]) for s in a) and not torch.equal(a["test"], c["test"])
    assert len(a["valid"]) == round(0.2 * len(as_set(triples)))


def test_split_command_writes_a_folder_fit_can_read(tmp_path, capsys):
    e = [f"e{i}" for i in range(40)]
    lines = [f"{e[i]}\tr{i % 3}\t{e[(i * 7 + 1) % 40]}\n" for i in range(40)] + \
            [f"{e[i % 40]}\tr{i % 3}\t{e[(i * 3) % 40]}\n" for i in range(400)]
    source = tmp_path / "all.tsv"
    source.write_text("".join(lines))
    for name in ("a", "b"):
        assert main(["split", str(source), "--output", str(tmp_path / name), "--seed", "3"]) == 0
    assert "entities" in capsys.readouterr().out
    for split in ("train", "valid", "test"):
        assert (tmp_path / "a" / f"{split}.txt").read_text() == (tmp_path / "b" / f"{split}.txt").read_text()
    dataset = load_folder(tmp_path / "a")
    assert dataset.unseen_entities() == {"valid": 0, "test": 0}
    assert main(["split", str(source), "--output", str(tmp_path / "a")]) == 2
    assert "already holds test.txt, train.txt, valid.txt" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["0.8,0.1", "0.8,0.3,0.1", "a,b,c", "1.2,-0.1,-0.1"])
def test_bad_ratios_are_named(text):
    with pytest.raises(ConfigError, match=f"got '{text}'"):
        parse_ratios(text)


def test_too_few_triples_is_a_clear_error(tmp_path, capsys):
    source = tmp_path / "tiny.tsv"
    source.write_text("a\tr\tb\nc\ts\td\n")
    assert main(["split", str(source), "--output", str(tmp_path / "out")]) == 2
    assert "too few triples for a valid split" in capsys.readouterr().err


@pytest.mark.parametrize("seed", [-1, 10**23])
def test_a_seed_torch_cannot_take_is_named(seed):
    with pytest.raises(ConfigError, match=rf"seed must be in \[0, 2\*\*64 - 1\], the seeds torch takes; got {seed}"):
        split_triples(skewed_triples(), seed=seed)


def test_split_reads_through_a_byte_order_mark_padding_and_a_header(tmp_path):
    e = [f"e{i}" for i in range(20)]
    lines = ["head\trelation\ttail"] + [f"{e[i % 20]} \tr{i % 2}\t{e[(i * 3 + 1) % 20]}" for i in range(200)]
    source = tmp_path / "all.tsv"
    source.write_bytes("\ufeff".encode() + "\n".join(lines).encode())
    assert main(["split", str(source), "--output", str(tmp_path / "out")]) == 0
    dataset = load_folder(tmp_path / "out")
    assert sorted(dataset.entities) == sorted(e) and dataset.relations == ["r0", "r1"]
