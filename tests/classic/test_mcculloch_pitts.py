import itertools

import numpy as np
import pytest

from nerve.classic.mcculloch_pitts import (
    MPNeuron,
    ThresholdNetwork,
    and_unit,
    nand_unit,
    not_unit,
    or_unit,
    truth_table,
    truth_table_network,
    xor_network,
)

INPUTS = np.array(list(itertools.product((0, 1), repeat=2)))  # (0,0), (0,1), (1,0), (1,1)


def test_logic_units_by_hand():
    assert and_unit()(INPUTS).tolist() == [0, 0, 0, 1]
    assert or_unit()(INPUTS).tolist() == [0, 1, 1, 1]
    assert nand_unit()(INPUTS).tolist() == [1, 1, 1, 0]
    assert not_unit()([[0], [1]]).tolist() == [1, 0]
    three = np.array(list(itertools.product((0, 1), repeat=3)))
    assert and_unit(3)(three).tolist() == [0] * 7 + [1]
    assert nand_unit(3)(three).tolist() == [1] * 7 + [0]


def test_absolute_inhibition_vetoes_any_excitation():
    # Two excitatory inputs, threshold 1, input 2 inhibitory: fires on x0 or x1 unless x2 is on.
    unit = MPNeuron(3, threshold=1, inhibitory=[2])
    three = np.array(list(itertools.product((0, 1), repeat=3)))
    expected = [int((a or b) and not c) for a, b, c in three]
    assert unit(three).tolist() == expected


def test_single_input_vector_is_a_batch_of_one():
    assert and_unit()([1, 1]).tolist() == [1]


def test_xor_network_is_two_layers():
    net = xor_network()
    assert net(INPUTS).tolist() == [0, 1, 1, 0]
    assert len(net.layers) == 2 and net.n_units() == 3


@pytest.mark.parametrize("n_inputs", [1, 2, 3, 4])
def test_truth_table_network_computes_every_random_function(n_inputs):
    rng = np.random.default_rng(n_inputs)
    rows = np.array(list(itertools.product((0, 1), repeat=n_inputs)))
    for _ in range(20):
        outputs = rng.integers(0, 2, size=2**n_inputs)
        assert truth_table_network(list(outputs))(rows).tolist() == outputs.tolist()


def test_truth_table_network_all_16_two_input_functions_and_constants():
    for outputs in itertools.product((0, 1), repeat=4):
        assert truth_table_network(list(outputs))(INPUTS).tolist() == list(outputs)


def test_truth_table_from_a_function():
    parity = truth_table(lambda a, b, c: a ^ b ^ c, 3)
    net = truth_table_network(parity)
    rows = np.array(list(parity))
    assert net(rows).tolist() == list(parity.values())


def test_bad_inputs_have_clear_errors():
    with pytest.raises(ValueError, match=r"x must have shape \(2,\) or \(N, 2\)"):
        and_unit()([[1, 0, 1]])
    with pytest.raises(ValueError, match="only 0 and 1"):
        and_unit()([[2, 0]])
    with pytest.raises(ValueError, match="inhibitory indices"):
        MPNeuron(2, threshold=1, inhibitory=[5])
    with pytest.raises(ValueError, match="2\\*\\*n outputs"):
        truth_table_network([0, 1, 1])
    with pytest.raises(ValueError, match="missing"):
        truth_table_network({(0, 0): 1, (1, 1): 0})
    with pytest.raises(ValueError, match="layer 0 has 2 units"):
        ThresholdNetwork([[and_unit(), or_unit()], [and_unit(3)]])
