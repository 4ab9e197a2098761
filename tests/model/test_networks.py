import torch

from spaim.model.losses import LossWeights, cosine_loss, gram, spaim_loss
from spaim.model.networks import SpaIMModule


def _module(norm="batch"):
    torch.manual_seed(0)
    return SpaIMModule(n_cells=40, n_clusters=6, widths=(16, 8), norm=norm)


def test_shapes_of_every_output():
    out = _module()(torch.rand(5, 40), torch.rand(5, 6))
    assert [h.shape for h in out.st_content] == [(5, 16), (5, 8)]
    assert [g.shape for g in out.sc_style] == [(5, 16), (5, 8)]
    assert out.reconstruction.shape == out.generation.shape == (5, 40)


def test_generator_and_autoencoder_share_the_decoder():
    module = _module()
    out = module(torch.rand(5, 40), torch.rand(5, 6))
    module.zero_grad()
    out.generation.sum().backward()
    assert module.decoder.layers[0].weight.grad.abs().sum() > 0
    assert module.st_content.layers[0][0].weight.grad is None  # generation does not touch the ST encoders


def test_generator_style_is_constant_across_genes():
    module = _module("layer").eval()
    styles = module._constant_style(4, torch.zeros(1))
    assert torch.allclose(styles[-1][0], styles[-1][3])


def test_cascade_decoder_sums_the_decoded_layers():
    module = _module()
    contents = [torch.rand(3, 16), torch.rand(3, 8)]
    styles = [torch.rand(3, 16), torch.rand(3, 8)]
    d = module.decoder.layers
    expected = d[1](contents[1] * styles[1]) + d[0](contents[0] * styles[0])
    assert torch.allclose(module.decoder(contents, styles), expected)


def test_losses_are_zero_for_perfect_agreement():
    x = torch.rand(4, 10) + 0.1
    assert cosine_loss(x, 3 * x).item() < 1e-6
    assert torch.allclose(gram(x), x @ x.T / 10)
    module = _module()
    out = module(torch.rand(5, 40), torch.rand(5, 6))
    total, terms = spaim_loss(out, torch.rand(5, 40), LossWeights(content=0, style=0, reconstruction=0, generation=1))
    assert total.item() == terms["generation"]
    assert set(terms) == {"content", "style", "reconstruction", "generation"}


def _cellbasis_module():
    torch.manual_seed(0)
    module = SpaIMModule(n_cells=40, n_clusters=6, widths=(16, 8), norm="layer", n_features=5, n_metacells=9)
    module.cells.set_basis(torch.randn(40, 5), torch.softmax(torch.randn(40, 9), dim=1))
    return module


def test_cellbasis_parameters_do_not_grow_with_cells_times_width():
    def count(n_cells):
        return sum(p.numel() for p in SpaIMModule(n_cells, 6, (16, 8), n_features=5).parameters())

    assert count(4000) - count(40) == 4000 - 40  # only the per-cell offset
    paper = sum(p.numel() for p in SpaIMModule(4000, 6, (16, 8)).parameters()) - sum(
        p.numel() for p in SpaIMModule(40, 6, (16, 8)).parameters())
    assert paper > 40 * (4000 - 40)  # encoder inputs and decoder outputs are cells wide


def test_cellbasis_generator_adds_the_metacell_transfer_path():
    module = _cellbasis_module().eval()
    sc = torch.rand(3, 6 + 9)  # each gene: its 6 cluster means, then its 9 metacell means
    with torch.no_grad():
        for layer in module.decoder.layers:  # silence the learned part: only the transfer path is left
            layer.weight.zero_()
            layer.bias.zero_()
        generated = module.generate(sc)
    assert torch.allclose(generated, sc[:, 6:] @ module.cells.assignment.T, atol=1e-6)
    out = module(torch.rand(3, 40), sc)
    assert out.reconstruction.shape == out.generation.shape == (3, 40)


def test_cellbasis_departure_starts_shut_and_scales_with_each_genes_transfer():
    module = _cellbasis_module().eval()
    sc = torch.rand(2, 6 + 9)
    sc[1, 6:] *= 10  # the second gene's metacell profile, and so its transfer, ten times as spread
    transfer = sc[:, 6:] @ module.cells.assignment.T
    with torch.no_grad():
        assert torch.equal(module.generate(sc), transfer)  # the gate starts at 0: a decoder at random init is silent
        module.gate.fill_(0.5)
        departure = module.generate(sc) - transfer
    rms = departure.pow(2).mean(dim=1).sqrt()
    assert torch.allclose(rms, 0.5 * transfer.std(dim=1), rtol=1e-4)
